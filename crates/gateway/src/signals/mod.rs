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

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
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

/// The best status of a user's sockets: online while any device is.
pub fn aggregate(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Offline)
}
