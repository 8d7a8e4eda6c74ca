//! One WebSocket session: frames in, queued frames out, keepalive, token
//! expiry, the slow-consumer close, and the seam between replay and live.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chat_common::auth::Principal;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until, timeout};
use uuid::Uuid;

use crate::Gateway;
use crate::hub::Out;
use crate::protocol::{
    self as p, ClientFrame, Frame, Status, error_frame, parse_client_frame, pong_frame,
};
use crate::replay::Replay;

/// How a session ends.
enum End {
    Close(u16, &'static str),
    /// The peer is gone or silent: nothing to say.
    Drop,
}

struct Session {
    gw: Gateway,
    user: Uuid,
    conn_id: u64,
    key: String,
    status: Status,
    /// Events at or before this position are not sent again (`None` until
    /// `subscribe`).
    last_sent: Option<u64>,
    deadline: Option<Instant>,
    last_heard: Instant,
    /// Typing and presence frames this socket may still send now.
    signals: SignalBucket,
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

/// Run a session until the peer leaves, falls behind, or the server stops.
pub(crate) async fn run(
    gw: Gateway,
    mut socket: WebSocket,
    who: Principal,
    deadline: Option<Instant>,
) {
    let user = who.user_id;
    let conn = gw.hub().connect(user, gw.config().queue_capacity);
    let key = format!("{}:{}", gw.node_id(), conn.id);
    gw.signals().touch(user, &key, Status::Online, true).await;
    let mut s = Session {
        gw: gw.clone(),
        user,
        conn_id: conn.id,
        key,
        status: Status::Online,
        last_sent: None,
        deadline,
        last_heard: Instant::now(),
        signals: SignalBucket::new(gw.config().signals_per_sec, gw.config().signals_burst),
    };
    let end = s.serve(&mut socket, conn.rx, &conn.slow).await;
    gw.hub().disconnect(user, conn.id);
    gw.signals().gone(user, &s.key).await;
    if let End::Close(code, reason) = end {
        tracing::debug!(%user, code, reason, "closing WebSocket");
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = timeout(gw.config().send_timeout, socket.send(close)).await;
    }
}

impl Session {
    async fn serve(
        &mut self,
        socket: &mut WebSocket,
        mut rx: tokio::sync::mpsc::Receiver<Out>,
        slow: &Notify,
    ) -> End {
        let cfg = self.gw.config().clone();
        let mut stop = self.gw.stopping();
        let mut ping =
            tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
        loop {
            let expiry = sleep_until(self.deadline.unwrap_or_else(far_future));
            let step = tokio::select! {
                biased;
                _ = slow.notified() => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
                _ = stop.changed() => Err(End::Close(p::CLOSE_GOING_AWAY, "server shutting down")),
                _ = expiry => Err(End::Close(p::CLOSE_TOKEN_EXPIRED, "token expired")),
                _ = ping.tick() => self.keepalive(socket, slow, cfg.idle_timeout).await,
                msg = socket.recv() => self.on_message(socket, slow, msg).await,
                out = rx.recv() => match out {
                    // The hub dropped us: we fell behind.
                    None => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
                    Some(Out::Event(position, frame)) => {
                        if self.last_sent.is_some_and(|last| position <= last) {
                            Ok(())
                        } else {
                            self.last_sent = Some(position);
                            self.send(socket, slow, frame).await
                        }
                    }
                    Some(Out::Signal(frame)) => self.send(socket, slow, frame).await,
                },
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn keepalive(
        &mut self,
        socket: &mut WebSocket,
        slow: &Notify,
        idle: Duration,
    ) -> Result<(), End> {
        if self.last_heard.elapsed() > idle {
            return Err(End::Drop);
        }
        self.gw
            .signals()
            .touch(self.user, &self.key, self.status, false)
            .await;
        self.send_msg(socket, slow, Message::Ping(Default::default()))
            .await
    }

    async fn on_message(
        &mut self,
        socket: &mut WebSocket,
        slow: &Notify,
        msg: Option<Result<Message, axum::Error>>,
    ) -> Result<(), End> {
        let msg = match msg {
            None | Some(Ok(Message::Close(_))) => return Err(End::Drop),
            Some(Err(e)) => {
                let text = e.to_string();
                tracing::debug!(error = %text, "WebSocket read failed");
                return Err(if text.contains("Space limit exceeded") {
                    End::Close(p::CLOSE_TOO_BIG, "frame too big")
                } else {
                    End::Drop
                });
            }
            Some(Ok(m)) => m,
        };
        self.last_heard = Instant::now();
        match msg {
            Message::Text(text) => match parse_client_frame(text.as_str()) {
                Ok(frame) => self.on_frame(socket, slow, frame).await,
                Err((code, detail)) => self.send(socket, slow, error_frame(code, &detail)).await,
            },
            Message::Binary(_) => {
                let f = error_frame("invalid_frame", "frames are JSON text");
                self.send(socket, slow, f).await
            }
            _ => Ok(()),
        }
    }

    async fn on_frame(
        &mut self,
        socket: &mut WebSocket,
        slow: &Notify,
        frame: ClientFrame,
    ) -> Result<(), End> {
        match frame {
            ClientFrame::Ping => self.send(socket, slow, pong_frame()).await,
            ClientFrame::Subscribe { after_position } => {
                self.subscribe(socket, slow, after_position).await
            }
            ClientFrame::Typing { .. } | ClientFrame::Presence { .. } if !self.signals.take() => {
                let f = error_frame(
                    "rate_limited",
                    "too many typing or presence frames; slow down",
                );
                self.send(socket, slow, f).await
            }
            ClientFrame::Typing { chat_id, state } => {
                if !self.gw.hub().is_member(chat_id, self.user) {
                    let f = error_frame("not_a_member", "you are not a member of this chat");
                    return self.send(socket, slow, f).await;
                }
                self.gw.signals().typing(chat_id, self.user, state).await;
                Ok(())
            }
            ClientFrame::Presence { status } => {
                self.status = status.into();
                self.gw
                    .signals()
                    .touch(self.user, &self.key, self.status, true)
                    .await;
                Ok(())
            }
            ClientFrame::Auth { access_token } => match self.gw.authenticate(&access_token) {
                Ok((who, deadline)) if who.user_id == self.user => {
                    self.deadline = deadline;
                    Ok(())
                }
                Ok(_) => {
                    let f = error_frame("invalid_token", "the token names another user");
                    self.send(socket, slow, f).await
                }
                Err(e) => {
                    let f = error_frame(e.code, "the access token was refused");
                    self.send(socket, slow, f).await
                }
            },
        }
    }

    /// Replay `(after, live]` from the store, then go live from there: the
    /// hub queues everything after `live` from the moment we register.
    async fn subscribe(
        &mut self,
        socket: &mut WebSocket,
        slow: &Notify,
        after: Option<u64>,
    ) -> Result<(), End> {
        if self.last_sent.is_some() {
            let f = error_frame("already_subscribed", "this socket is subscribed already");
            return self.send(socket, slow, f).await;
        }
        if after.is_some() && !self.gw.config().exact_resume {
            let f = error_frame(
                "resume_unavailable",
                "this deployment cannot replay missed events; subscribe without \
                 after_position and refetch through the query API",
            );
            return self.send(socket, slow, f).await;
        }
        if let Some(a) = after
            && a > self.gw.hub().routed()
            && a > self.gw.head_position().await.unwrap_or(u64::MAX)
        {
            let f = error_frame(
                "invalid_position",
                "after_position is past the end of the log",
            );
            return self.send(socket, slow, f).await;
        }
        let Some(reg) = self.gw.hub().subscribe(self.user, self.conn_id) else {
            return Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer"));
        };
        // "From now" means the log's head, not how far this gateway's tail
        // has got: a client subscribing right after a command's answer must
        // not be handed events older than that answer. Events the hub still
        // queues up to the head are skipped through `last_sent`.
        let start = match after {
            Some(a) => a,
            None => (self.gw.head_position().await)
                .unwrap_or(reg.live_after)
                .max(reg.live_after),
        };
        self.last_sent = Some(start.max(reg.live_after));
        self.send(socket, slow, p::subscribed_frame(start)).await?;
        if start >= reg.live_after {
            return Ok(());
        }
        let cfg = self.gw.config();
        let bounds = (start, reg.live_after);
        let mut replay = Replay::start(
            (self.gw.pool(), self.gw.store()),
            (self.user, reg.private),
            bounds,
            &reg.chats,
            cfg.replay_page,
        )
        .await
        .map_err(replay_failed)?;
        while let Some(page) = replay.next_page().await.map_err(replay_failed)? {
            for (_, frame) in page {
                self.send(socket, slow, frame).await?;
            }
        }
        Ok(())
    }

    async fn send(&self, socket: &mut WebSocket, slow: &Notify, frame: Frame) -> Result<(), End> {
        self.send_msg(socket, slow, Message::Text(frame)).await
    }

    /// Write one message, unless the socket is found slow meanwhile.
    async fn send_msg(
        &self,
        socket: &mut WebSocket,
        slow: &Notify,
        msg: Message,
    ) -> Result<(), End> {
        let limit = self.gw.config().send_timeout;
        tokio::select! {
            biased;
            _ = slow.notified() => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
            r = timeout(limit, socket.send(msg)) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(End::Drop),
                Err(_) => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
            },
        }
    }
}

fn replay_failed(e: crate::replay::ReplayError) -> End {
    tracing::error!(error = %e, "resume failed");
    End::Close(p::CLOSE_INTERNAL, "resume failed; retry")
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
