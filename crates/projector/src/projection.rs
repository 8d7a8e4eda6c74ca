//! The projection contract and the registry of projections.
//!
//! A projection turns events into rows of the tables in its own Postgres
//! schema. The runner hands every batch to [`Projection::apply_events`] (in
//! global order, inside the batch transaction that also moves the
//! checkpoint), whose effect is that of [`Projection::apply`] on each event
//! in turn, so a handler only has to be correct for "each event once, in
//! order". Handlers
//! are additionally idempotent: every row carries the `position` of the
//! last event that touched it and no statement touches a row whose position
//! is at or past the event's, so re-applying a suffix of the log (a reset
//! checkpoint) changes nothing.

use async_trait::async_trait;
use chat_domain::{ChatEvent, StreamKind, UserEvent, parse_stream};
use chat_store::RecordedEvent;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use crate::error::{ProjectorError, Result};

/// One read model.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Short name used in commands, metrics and notifications:
    /// `"users" | "chats" | "messages" | "media"`.
    fn name(&self) -> &'static str;

    /// The Postgres schema it owns (`"rm_users"`, …). A rebuild applies into
    /// another schema, so handlers must use the `schema` argument instead.
    fn schema(&self) -> &'static str;

    /// Whether `event` may change this projection's tables. The runner moves
    /// the checkpoint past a batch of events none of which it handles
    /// without a transaction of its own ([`crate::runner`]). Saying `true`
    /// for an event that changes nothing is always safe.
    fn handles(&self, _event: &RecordedEvent) -> bool {
        true
    }

    /// Apply one event to the tables in `schema`. Events that do not concern
    /// this projection are ignored. Must not commit: `conn` is inside the
    /// batch transaction.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        schema: &str,
        event: &RecordedEvent,
    ) -> Result<()>;

    /// Apply `events` (in global order) to the tables in `schema`, with
    /// exactly the effect of calling [`Projection::apply`] on each in turn.
    /// The runner calls this once per batch, so a projection can apply runs
    /// of frequent events with set-based statements; the default just loops.
    /// Must not commit, like `apply`.
    async fn apply_events(
        &self,
        conn: &mut PgConnection,
        schema: &str,
        events: &[RecordedEvent],
    ) -> Result<()> {
        for event in events {
            self.apply(&mut *conn, schema, event).await?;
        }
        Ok(())
    }
}

/// A decoded domain event of either stream family.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "decoded one at a time and consumed at once, as the domain's own events"
)]
pub enum Fact {
    Chat(ChatEvent),
    User(UserEvent),
}

impl Fact {
    /// Decode a stored event by its stream family. Events of streams that are
    /// neither `chat-…` nor `user-…` are none of the read models' business.
    pub fn decode(rec: &RecordedEvent) -> Result<Option<Fact>> {
        Ok(match parse_stream(&rec.stream) {
            Some((StreamKind::Chat, _)) => Some(Fact::Chat(typed(rec)?)),
            Some((StreamKind::User, _)) => Some(Fact::User(typed(rec)?)),
            None => None,
        })
    }
}

/// `chat_store::typed::decode` without copying the payload first: events
/// deserialize straight from the borrowed JSON (the hot path of a replay).
fn typed<E: DeserializeOwned>(rec: &RecordedEvent) -> Result<E> {
    E::deserialize(&rec.payload).map_err(|e| ProjectorError::Decode {
        position: rec.position,
        message: chat_store::StoreError::Decode {
            event_type: rec.event_type.clone(),
            schema_version: rec.schema_version,
            position: rec.position,
            message: e.to_string(),
        }
        .to_string(),
    })
}
