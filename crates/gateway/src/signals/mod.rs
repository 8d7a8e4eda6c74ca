//! Ephemeral signals: typing and presence. Never in the event store.
//!
//! A [`Backend`] keeps presence (one entry per socket, expiring after the
//! heartbeat TTL unless refreshed) and carries signals between nodes: in
//! process ([`local`]) or over Redis keys with TTLs and pub/sub ([`redis`]).
//! Every node receives every signal, its own included, and delivers it to
//! its own sockets ([`dispatch`]) using its own membership: typing to the
//! chat's other current members, presence to whoever the user's
//! `last_seen_visible_to` allows.

pub mod dispatch;
pub mod local;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::protocol::{Status, TypingState};

/// A signal as carried between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    Typing {
        chat_id: Uuid,
        user_id: Uuid,
        state: TypingState,
    },
    Presence {
        user_id: Uuid,
        status: Status,
        #[serde(default, with = "time::serde::rfc3339::option")]
        last_seen: Option<OffsetDateTime>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("signal backend: {0}")]
pub struct BackendError(pub String);

impl From<::redis::RedisError> for BackendError {
    fn from(e: ::redis::RedisError) -> Self {
        BackendError(e.to_string())
    }
}

/// Presence state and signal transport.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Record (or refresh) socket `conn` of `user` with `status` for the
    /// heartbeat TTL; answer the user's status over all their sockets.
    async fn touch(&self, user: Uuid, conn: &str, status: Status) -> Result<Status, BackendError>;

    /// Forget socket `conn`; answer the user's remaining status.
    async fn remove(&self, user: Uuid, conn: &str) -> Result<Status, BackendError>;

    /// The user's status over all their live sockets on every node.
    async fn status(&self, user: Uuid) -> Result<Status, BackendError>;

    /// Mark `user` typing in `chat` (expiring) or not.
    async fn typing(&self, chat: Uuid, user: Uuid, typing: bool) -> Result<(), BackendError>;

    /// Send a signal to every node (this one included).
    async fn publish(&self, signal: &Signal) -> Result<(), BackendError>;
}

/// Signals waiting for this node's dispatcher. Past this, new ones are
/// dropped: they are ephemeral, and a typing indicator or a presence change
/// lost under overload is better than a queue growing without bound (each
/// socket's own signals are rate limited before they get here).
pub const QUEUE: usize = 4096;

/// Signals dropped because the dispatcher's queue was full.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The dispatcher's bounded queue.
pub fn queue() -> (mpsc::Sender<Signal>, mpsc::Receiver<Signal>) {
    mpsc::channel(QUEUE)
}

/// Hand a signal to the dispatcher without waiting; `false` once it stopped.
pub fn offer(tx: &mpsc::Sender<Signal>, signal: Signal) -> bool {
    match tx.try_send(signal) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            if DROPPED.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000) {
                tracing::warn!("signal queue full: dropping typing and presence signals");
            }
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// The best status of a user's sockets: online while any device is.
pub fn aggregate(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Offline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signal_queue_is_bounded_and_drops_what_does_not_fit() {
        let (tx, mut rx) = queue();
        let typing = |n: u128| Signal::Typing {
            chat_id: Uuid::from_u128(n),
            user_id: Uuid::from_u128(n),
            state: TypingState::Start,
        };
        let before = DROPPED.load(Ordering::Relaxed);
        for n in 0..(QUEUE as u128 + 10) {
            assert!(offer(&tx, typing(n)), "the dispatcher is still there");
        }
        assert!(DROPPED.load(Ordering::Relaxed) >= before + 10);
        let mut queued = 0;
        while rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, QUEUE);
        drop(rx);
        assert!(!offer(&tx, typing(0)), "a stopped dispatcher is reported");
    }
}
