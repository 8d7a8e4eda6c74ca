//! Store errors: concurrency outcomes are typed values, infrastructure failures
//! are kept apart so the edge can answer 409 for the former and 503 for the latter.

use std::sync::Arc;

use uuid::Uuid;

use crate::ExpectedVersion;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the stream is not at the expected version.
    #[error("stream {stream} is at version {actual}, expected {expected:?}")]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    /// Some, but not all, of the event ids were stored before, or they were
    /// stored in another stream or order: the retry is not the same append.
    #[error("event ids of this append were already used by a different append")]
    IdempotencyMismatch,
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// An event that creates its subject found the subject already in the
    /// stream: where its first event stands.
    #[error("stream {stream} already has {subject} (version {version})")]
    SubjectTaken {
        stream: String,
        subject: Uuid,
        version: u64,
        position: u64,
    },
    #[error("invalid stream name {0:?}")]
    InvalidStream(String),
    /// A payload that does not decode into the expected event type.
    #[error("cannot decode event {event_type} v{schema_version} at {position}: {message}")]
    Decode {
        event_type: String,
        schema_version: u16,
        position: u64,
        message: String,
    },
    #[error("cannot encode event: {0}")]
    Encode(String),
    /// Sealed personal data that does not open although its key exists:
    /// the master key changed without `MASTER_KEY_PREVIOUS`, or the row was
    /// altered. Never read as erased, which would silently lose data.
    #[error("cannot open sealed event data: {0}")]
    Sealing(String),
    /// The database (or broker) failed; the cause is logged, callers answer 503.
    #[error("event store unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
    /// A remote event store (EventStoreDB/KurrentDB) failed or could not be
    /// reached; like `Unavailable`, callers answer 503.
    #[error("event store unavailable: {0}")]
    Remote(Arc<dyn std::error::Error + Send + Sync>),
    #[error("event store is shutting down")]
    ShuttingDown,
    #[error("this event store backend cannot {0}")]
    Unsupported(&'static str),
}

impl StoreError {
    /// Whether a retry of the same call may succeed (infrastructure trouble).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Remote(_) | StoreError::ShuttingDown
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(Arc::new(e))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
