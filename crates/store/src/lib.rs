//! # chat-store: the event store
//!
//! Owns the [`EventStore`] trait (append with an expected version, idempotent
//! event ids, stream / global / subject reads, subscriptions from a global
//! position), the event envelope and its JSON serialization, upcasting of old
//! schema versions, and the Postgres implementation ([`postgres::PgEventStore`]);
//! with the `kurrentdb` feature also an EventStoreDB/KurrentDB one
//! (`kurrent::KurrentEventStore`, see `docs/decisions/0006-kurrentdb-backend.md`).
//!
//! The event store is the only source of truth of the system: every read
//! model, Kafka topic and WebSocket push is derived from what it returns.
//!
//! ## Erasure
//! Personal data in events is stored sealed under data keys kept outside
//! the log ([`sealing`]); an erasing event destroys its keys in its own
//! append, after which every reader gets the event's blanked form. See
//! `docs/decisions/0018-erasure.md`.
//!
//! ## Global order without gaps
//! Appends are serialized by one transaction-scoped advisory lock and positions
//! are assigned under it as `max(position) + 1`, so positions are gapless and
//! become visible strictly in order (a transaction's locks are released only
//! after it is visible). A tail `WHERE position > $last` therefore can never
//! skip an event that commits late. The lost concurrency is won back by group
//! commit: one appender task per process packs every append that is waiting
//! into one transaction. See `docs/decisions/0002-gap-safe-global-order.md`.
//!
//! ## One reader per process
//! Every subscription of a Postgres store follows one tail of the log,
//! fanned out in memory; the appender hands its committed events to that
//! tail, so the process that appended never reads them back. See
//! `docs/decisions/0008-one-log-reader-per-process.md`.

pub mod chain;
pub mod envelope;
pub mod error;
#[cfg(feature = "kurrentdb")]
pub mod kurrent;
pub mod postgres;
pub mod sealing;
pub mod typed;
pub mod upcast;

use async_trait::async_trait;
use futures::stream::BoxStream;
use uuid::Uuid;

pub use envelope::{
    AppendResult, Direction, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StreamHead,
};
pub use error::{Result, StoreError};
pub use upcast::Upcasters;

/// A stream of stored events in global position order; it ends only when the
/// store shuts down or the receiver is dropped.
pub type EventStream = BoxStream<'static, Result<RecordedEvent>>;

/// The event store contract. Implemented by Postgres (default) and, behind a
/// feature, EventStoreDB/KurrentDB. Positions are strictly increasing; only
/// the Postgres store promises they are also contiguous.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Append `events` to `stream` atomically if it is at `expected`.
    ///
    /// Re-appending the same event ids returns the original result and writes
    /// nothing. The events are durable when this returns `Ok`.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult>;

    /// Events of one stream, starting at `from_version` (inclusive) and going
    /// in `direction`, at most `limit`.
    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>>;

    /// The global log after `after_position` (exclusive), at most `limit`.
    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// Every event of `stream` about `subject` (e.g. one message), in order.
    async fn read_subject(&self, stream: &str, subject: Uuid) -> Result<Vec<RecordedEvent>>;

    /// The events of several streams in `(after, upto]`, merged in position
    /// order, at most `limit`: one user's resume. Its cost follows those
    /// streams' events, not the log. Only a store whose positions are
    /// contiguous can promise this (`Unsupported` otherwise).
    async fn read_streams(
        &self,
        streams: &[String],
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let _ = (streams, after, upto, limit);
        Err(StoreError::Unsupported(
            "read several streams by global position",
        ))
    }

    /// The stream's newest version and position, `None` if it has no events.
    async fn stream_head(&self, stream: &str) -> Result<Option<StreamHead>>;

    /// The position of the newest event in the global log (0 when empty).
    async fn head_position(&self) -> Result<u64>;

    /// Every event after `after_position`, in order, exactly once: catch-up
    /// first, then live. Transient failures are retried inside the stream.
    fn subscribe(&self, after_position: u64) -> EventStream;
}
