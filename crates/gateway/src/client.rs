//! One client of the gateway, whatever carries it (`/v1/ws`, Socket.IO):
//! its place in the hub, the seam between replay and live, typing and
//! presence with their rate limit, and token renewal. A transport owns the
//! socket and the loop; everything a client may see or do is decided here,
//! so every transport shows the same events under the same rules.

use std::sync::Arc;

use chat_common::ApiError;
use chat_common::auth::Principal;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use uuid::Uuid;

use crate::Gateway;
use crate::hub::Out;
use crate::idle::Turn;
use crate::protocol::{Status, TypingState};
use crate::replay::{Replay, ReplayError};

/// A refused client action: the stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub detail: String,
}

fn refuse(code: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal {
        code,
        detail: detail.into(),
    }
}

/// Why a subscription could not start.
#[derive(Debug)]
pub enum SubscribeError {
    /// Tell the client and keep the connection.
    Refused(Refusal),
    /// The client fell behind before it started: close as slow.
    Slow,
    /// The resume could not be read: close, the client retries.
    Replay(ReplayError),
}

/// A started subscription: where it starts, and what to replay first.
pub struct Subscribed {
    pub start: u64,
    /// Events in `(start, live)`; everything after arrives through
    /// [`Client::recv`] once these are sent.
    pub replay: Option<Replay>,
}

/// A connected client. Dropping it without [`Client::close`] leaves its
/// presence to expire with its TTL.
pub struct Client {
    gw: Gateway,
    pub user: Uuid,
    conn_id: u64,
    key: String,
    status: Status,
    /// Events at or before this position are not sent again (`None` until
    /// `subscribe`).
    last_sent: Option<u64>,
    deadline: Option<Instant>,
    /// The token's session: signing it out closes the socket.
    session: Option<Uuid>,
    /// Shown away because idle (see [`Client::idle`]).
    idle_away: bool,
    signals: SignalBucket,
    rx: mpsc::Receiver<Out>,
    slow: Arc<Notify>,
}

impl Gateway {
    /// Whether a verified user may open another socket: not when they hold
    /// too many here (each costs memory and a share of every fan-out).
    /// Checked before the transport accepts the connection.
    pub fn admit(&self, who: &Principal) -> Result<(), ApiError> {
        let cap = self.config().max_sockets_per_user;
        if self.hub().sockets_of(who.user_id) >= cap {
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_sockets",
                format!("at most {cap} sockets per user; close one first"),
            )
            .with_retry_after(5));
        }
        Ok(())
    }

    /// Register an admitted user's new socket; they are online from now.
    pub async fn attach(&self, who: &Principal, deadline: Option<Instant>) -> Client {
        let user = who.user_id;
        let conn = self.hub().connect(user, self.config().queue_capacity);
        let key = format!("{}:{}", self.node_id(), conn.id);
        self.signals().touch(user, &key, Status::Online, true).await;
        let cfg = self.config();
        Client {
            gw: self.clone(),
            user,
            conn_id: conn.id,
            key,
            status: Status::Online,
            last_sent: None,
            deadline,
            session: who.session_id,
            idle_away: false,
            signals: SignalBucket::new(cfg.signals_per_sec, cfg.signals_burst),
            rx: conn.rx,
            slow: conn.slow,
        }
    }
}

impl Client {
    pub fn gateway(&self) -> &Gateway {
        &self.gw
    }

    /// Notified when the client fell behind and must be closed.
    pub fn slow(&self) -> Arc<Notify> {
        self.slow.clone()
    }

    /// Whether the token's session was signed out since (checked on each
    /// keepalive tick: the socket closes within a ping interval).
    pub fn signed_out(&self) -> bool {
        self.session
            .is_some_and(|s| self.gw.verifier().revoked().contains(s))
    }

    /// When the token stops being valid.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Turns true when the server shuts down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.gw.stopping()
    }

    /// The next thing to send: an event not sent yet, or a signal; `None`
    /// when the hub dropped the client (it fell behind).
    pub async fn recv(&mut self) -> Option<Out> {
        loop {
            match self.rx.recv().await? {
                Out::Event(position, _) if self.last_sent.is_some_and(|l| position <= l) => {}
                Out::Event(position, frame) => {
                    self.last_sent = Some(position);
                    return Some(Out::Event(position, frame));
                }
                signal => return Some(signal),
            }
        }
    }

    /// Start the stream of the user's events: from the log's head, or
    /// replaying everything after `after` first.
    pub async fn subscribe(&mut self, after: Option<u64>) -> Result<Subscribed, SubscribeError> {
        let gw = self.gw.clone();
        if self.last_sent.is_some() {
            return Err(SubscribeError::Refused(refuse(
                "already_subscribed",
                "this socket is subscribed already",
            )));
        }
        if after.is_some() && !gw.config().exact_resume {
            return Err(SubscribeError::Refused(refuse(
                "resume_unavailable",
                "this deployment cannot replay missed events; subscribe without \
                 after_position and refetch through the query API",
            )));
        }
        if let Some(a) = after
            && a > gw.hub().routed()
            && a > gw.head_position().await.unwrap_or(u64::MAX)
        {
            return Err(SubscribeError::Refused(refuse(
                "invalid_position",
                "after_position is past the end of the log",
            )));
        }
        let reg = gw
            .hub()
            .subscribe(self.user, self.conn_id)
            .ok_or(SubscribeError::Slow)?;
        // "From now" means the log's head, not how far this gateway's tail
        // has got: a client subscribing right after a command's answer must
        // not be handed events older than that answer. Events the hub still
        // queues up to the head are skipped through `last_sent`.
        let start = match after {
            Some(a) => a,
            None => (gw.head_position().await)
                .unwrap_or(reg.live_after)
                .max(reg.live_after),
        };
        self.last_sent = Some(start.max(reg.live_after));
        if start >= reg.live_after {
            return Ok(Subscribed {
                start,
                replay: None,
            });
        }
        let cfg = gw.config();
        let replay = Replay::start(
            (gw.pool(), gw.store()),
            (self.user, reg.private),
            (start, reg.live_after),
            &reg.chats,
            cfg.replay_page,
        )
        .await
        .map_err(SubscribeError::Replay)?;
        Ok(Subscribed {
            start,
            replay: Some(replay),
        })
    }

    /// Announce typing in a chat the user is a member of.
    pub async fn typing(&mut self, chat_id: Uuid, state: TypingState) -> Result<(), Refusal> {
        self.take_signal()?;
        if !self.gw.hub().is_member(chat_id, self.user) {
            return Err(refuse("not_a_member", "you are not a member of this chat"));
        }
        self.gw.signals().typing(chat_id, self.user, state).await;
        Ok(())
    }

    /// Change this client's status (the user's is the best over their
    /// devices).
    pub async fn presence(&mut self, status: Status) -> Result<(), Refusal> {
        self.take_signal()?;
        self.status = status;
        self.gw
            .signals()
            .touch(self.user, &self.key, status, true)
            .await;
        Ok(())
    }

    /// Auto-away ([`crate::idle`]): an idle socket of a client that chose
    /// `online` shows `away`, and `online` again once it is active; a
    /// client that chose `away` or `dnd` keeps its choice.
    pub async fn idle(&mut self, turn: Turn) {
        if self.status != Status::Online {
            return;
        }
        let status = match turn {
            Turn::Away => Status::Away,
            Turn::Back => Status::Online,
        };
        self.gw
            .signals()
            .touch(self.user, &self.key, status, true)
            .await;
        self.idle_away = turn == Turn::Away;
    }

    /// Keep the presence of a live client from expiring.
    pub async fn keepalive(&self) {
        let status = if self.idle_away {
            Status::Away
        } else {
            self.status
        };
        self.gw
            .signals()
            .touch(self.user, &self.key, status, false)
            .await;
    }

    /// Renew the token before it expires (the same user only).
    pub fn renew(&mut self, token: &str) -> Result<(), Refusal> {
        match self.gw.authenticate(token) {
            Ok((who, deadline)) if who.user_id == self.user => {
                self.deadline = deadline;
                self.session = who.session_id;
                Ok(())
            }
            Ok(_) => Err(refuse("invalid_token", "the token names another user")),
            Err(e) => Err(refuse(e.code, "the access token was refused")),
        }
    }

    /// Whether the user is a member of `chat` now.
    pub fn is_member(&self, chat: Uuid) -> bool {
        self.gw.hub().is_member(chat, self.user)
    }

    /// The other participant of a direct chat of the user's.
    pub fn peer(&self, chat: Uuid) -> Option<Uuid> {
        self.gw.hub().direct_peer(chat, self.user)
    }

    /// Leave the hub and let the user's presence follow.
    pub async fn close(self) {
        self.gw.hub().disconnect(self.user, self.conn_id);
        self.gw.signals().gone(self.user, &self.key).await;
    }

    fn take_signal(&mut self) -> Result<(), Refusal> {
        if self.signals.take() {
            Ok(())
        } else {
            Err(refuse(
                "rate_limited",
                "too many typing or presence frames; slow down",
            ))
        }
    }
}

/// A token bucket for one socket's typing and presence frames: without it,
/// one client could flood a large group with typing or presence changes.
struct SignalBucket {
    tokens: f64,
    at: Instant,
    rate: f64,
    burst: f64,
}

impl SignalBucket {
    fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1e-6
        };
        SignalBucket {
            tokens: burst,
            at: Instant::now(),
            rate,
            burst,
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
