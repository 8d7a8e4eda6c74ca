//! Projector errors. Everything here is infrastructure (the database, the
//! event store) or a poison event; domain rules are never checked here.

use chat_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The read-model database failed; the runner backs off and retries.
    #[error("read-model database: {0}")]
    Db(#[from] sqlx::Error),
    /// Reading the event store failed.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// An event that cannot be decoded into a known domain event. The
    /// projection stops at it (and retries) rather than skip it silently.
    #[error("cannot decode event at position {position}: {message}")]
    Decode { position: u64, message: String },
    #[error("unknown projection {0:?} (expected users, chats, messages or all)")]
    UnknownProjection(String),
    /// A schema name that is not a plain lower-case identifier.
    #[error("invalid schema name {0:?}")]
    InvalidSchema(String),
    /// Events were not handed over in gapless order after the checkpoint.
    #[error("events out of order: checkpoint {checkpoint}, next event {next}")]
    OutOfOrder { checkpoint: u64, next: u64 },
    /// Another runner (or a rebuild) moved the checkpoint under us.
    #[error("checkpoint of {schema} moved to {found}, expected {expected}")]
    CheckpointMoved {
        schema: String,
        expected: u64,
        found: u64,
    },
    /// Another rebuild of the same projection is running.
    #[error("a rebuild of {0} is already running")]
    RebuildRunning(String),
    /// The rebuilt schema's tables could not be matched with the live ones.
    #[error("cannot prepare the rebuild of {schema}: {message}")]
    RebuildSetup { schema: String, message: String },
    /// The lease connection died: another process may hold the lease now.
    #[error("lost the lease of {0}")]
    LeaseLost(String),
}

pub type Result<T, E = ProjectorError> = std::result::Result<T, E>;
