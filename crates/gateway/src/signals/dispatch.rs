//! The node's side of signals: what sessions call ([`Signals`]) and the task
//! delivering every node's signals to this node's sockets ([`run`]).
//!
//! * typing expires after the typing TTL without a refresh: the receiving
//!   node keeps a deadline per (chat, user) and sends `stop` itself, so a
//!   typist whose node died stops too;
//! * presence is deduplicated per user; users seen online elsewhere are
//!   re-checked every half heartbeat TTL, so a node that died without
//!   closing shows its users offline once their entries expire;
//! * the last disconnect writes `gateway.last_seen`;
//! * presence is shown through the users' chosen statuses ([`Statuses`]),
//!   re-shown when one changes or ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::warn;
use uuid::Uuid;

use super::{Backend, Signal};
use crate::hub::Hub;
use crate::protocol::{Frame, Status, TypingState, presence_frame, typing_frame};
use crate::status::Statuses;
use chat_domain::user::status::shown;

/// What sessions use to announce typing and presence.
#[derive(Clone)]
pub struct Signals {
    backend: Arc<dyn Backend>,
    pool: PgPool,
}

impl Signals {
    pub fn new(backend: Arc<dyn Backend>, pool: PgPool) -> Signals {
        Signals { backend, pool }
    }

    pub async fn typing(&self, chat_id: Uuid, user_id: Uuid, state: TypingState) {
        let typing = state == TypingState::Start;
        if let Err(e) = self.backend.typing(chat_id, user_id, typing).await {
            warn!(error = %e, "cannot record typing");
        }
        self.publish(Signal::Typing {
            chat_id,
            user_id,
            state,
        })
        .await;
    }

    /// Record socket `conn` with `status`; announce the user's status if asked
    /// (connect, explicit change), not on heartbeats.
    pub async fn touch(&self, user_id: Uuid, conn: &str, status: Status, announce: bool) {
        match self.backend.touch(user_id, conn, status).await {
            Ok(status) if announce => {
                self.publish(Signal::Presence {
                    user_id,
                    status,
                    last_seen: None,
                })
                .await;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "cannot record presence"),
        }
    }

    /// The socket closed: announce what is left, and on the last device
    /// write last-seen.
    pub async fn gone(&self, user_id: Uuid, conn: &str) {
        let status = match self.backend.remove(user_id, conn).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot record presence");
                return;
            }
        };
        let last_seen = (status == Status::Offline).then(OffsetDateTime::now_utc);
        if let Some(at) = last_seen {
            write_last_seen(&self.pool, user_id, at).await;
        }
        self.publish(Signal::Presence {
            user_id,
            status,
            last_seen,
        })
        .await;
    }

    /// The user's live status over all their sockets on every node.
    pub async fn live(&self, user: Uuid) -> Status {
        self.backend.status(user).await.unwrap_or_else(|e| {
            warn!(error = %e, "cannot read presence");
            Status::Offline
        })
    }

    async fn publish(&self, signal: Signal) {
        if let Err(e) = self.backend.publish(&signal).await {
            warn!(error = %e, "cannot publish a signal");
        }
    }
}

async fn write_last_seen(pool: &PgPool, user: Uuid, at: OffsetDateTime) {
    let r = sqlx::query(
        "INSERT INTO gateway.last_seen (user_id, at) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET at = greatest(gateway.last_seen.at, EXCLUDED.at)",
    )
    .bind(user)
    .bind(at)
    .execute(pool)
    .await;
    if let Err(e) = r {
        warn!(error = %e, %user, "cannot write last seen");
    }
}

/// Timing of the dispatcher.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub typing_ttl: Duration,
    pub presence_ttl: Duration,
}

/// What others see of `user` whose devices are `live`: the one rule
/// ([`shown`]) over their chosen status.
pub fn shown_frame(
    statuses: &Statuses,
    user: Uuid,
    live: Status,
    last_seen: Option<OffsetDateTime>,
) -> Frame {
    let custom = statuses.get(user);
    let (status, text) = shown(live.into(), custom.as_ref(), OffsetDateTime::now_utc());
    presence_frame(user, status.into(), text.as_deref(), last_seen)
}

/// Deliver signals to this node's sockets until `stop`.
#[allow(
    clippy::too_many_arguments,
    reason = "the task's parts, passed once at start"
)]
pub async fn run(
    hub: Arc<Hub>,
    backend: Arc<dyn Backend>,
    pool: PgPool,
    mut rx: mpsc::Receiver<Signal>,
    statuses: Statuses,
    mut changed: mpsc::Receiver<Uuid>,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
) {
    let mut typing: HashMap<(Uuid, Uuid), Instant> = HashMap::new();
    let mut known: HashMap<Uuid, Status> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let sweep_every = (timing.presence_ttl / 2).max(Duration::from_millis(250));
    let mut next_sweep = Instant::now() + sweep_every;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            signal = rx.recv() => match signal {
                None => return,
                Some(Signal::Typing { chat_id, user_id, state }) => {
                    match state {
                        TypingState::Start => {
                            typing.insert((chat_id, user_id), Instant::now() + timing.typing_ttl);
                        }
                        TypingState::Stop => {
                            typing.remove(&(chat_id, user_id));
                        }
                    }
                    hub.to_members(chat_id, user_id, &typing_frame(chat_id, user_id, state));
                }
                Some(Signal::Presence { user_id, status, last_seen }) => {
                    // Nodes announce concurrently, so announcements can
                    // arrive out of order: show the user's status as the
                    // backend holds it now, not as one announcement said.
                    let status = backend.status(user_id).await.unwrap_or(status);
                    // Gone by now, whatever this one said: seen until now.
                    let last_seen = (status == Status::Offline)
                        .then(|| last_seen.unwrap_or_else(OffsetDateTime::now_utc));
                    let before = known.get(&user_id).copied().unwrap_or(Status::Offline);
                    if before == status {
                        continue;
                    }
                    if status == Status::Offline {
                        known.remove(&user_id);
                    } else {
                        known.insert(user_id, status);
                    }
                    hub.to_viewers(user_id, &shown_frame(&statuses, user_id, status, last_seen));
                }
            },
            Some(user) = changed.recv() => {
                // A chosen status changed: shown to viewers while the user
                // is connected somewhere (offline shows no status).
                if let Some(live) = known.get(&user).copied() {
                    hub.to_viewers(user, &shown_frame(&statuses, user, live, None));
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let expired: Vec<(Uuid, Uuid)> =
                    typing.iter().filter(|(_, d)| **d <= now).map(|(k, _)| *k).collect();
                for (chat, user) in expired {
                    typing.remove(&(chat, user));
                    hub.to_members(chat, user, &typing_frame(chat, user, TypingState::Stop));
                }
                if now >= next_sweep {
                    next_sweep = now + sweep_every;
                    sweep(&hub, backend.as_ref(), &pool, &statuses, &mut known).await;
                    for user in statuses.take_ended(OffsetDateTime::now_utc()) {
                        if let Some(live) = known.get(&user).copied() {
                            hub.to_viewers(user, &shown_frame(&statuses, user, live, None));
                        }
                    }
                }
            }
        }
    }
}

/// Users believed online with no socket here: still online anywhere?
async fn sweep(
    hub: &Hub,
    backend: &dyn Backend,
    pool: &PgPool,
    statuses: &Statuses,
    known: &mut HashMap<Uuid, Status>,
) {
    let remote: Vec<Uuid> = known
        .keys()
        .copied()
        .filter(|u| !hub.has_connections(*u))
        .collect();
    for user in remote {
        match backend.status(user).await {
            Ok(Status::Offline) => {
                known.remove(&user);
                let now = OffsetDateTime::now_utc();
                write_last_seen(pool, user, now).await;
                let frame = shown_frame(statuses, user, Status::Offline, Some(now));
                hub.to_viewers(user, &frame);
            }
            Ok(status) => {
                known.insert(user, status);
            }
            Err(e) => warn!(error = %e, "cannot check presence"),
        }
    }
}
