//! # chat-projector: the read side's write half
//!
//! Owns the read models in Postgres and everything that keeps them in step
//! with the event store:
//!
//! * the schema ([`migrator`]): one Postgres schema per projection
//!   (`rm_users`, `rm_chats`, `rm_messages`, `rm_media`), each with its tables and a
//!   one-row `checkpoint`;
//! * the [`Projection`] trait and the four projections ([`users`],
//!   [`chats`], [`messages`], [`media`]), which copy what events carry and
//!   never recompute domain rules;
//! * the runner ([`spawn`]): per projection, a lease (session advisory lock)
//!   so one process applies while others stand by, batches applied in one
//!   transaction together with the checkpoint (exactly-once effect),
//!   reconnection with back-off, clean stop between batches, and a
//!   [`ProjectorHandle`] reporting positions and lag;
//! * read-your-writes ([`CheckpointWatch`], [`ProjectorHandle::wait_for`]):
//!   wait until every checkpoint has passed a position, woken by NOTIFY and
//!   never relying on it;
//! * [`rebuild()`]: replay from position 0 into fresh copies of a projection's
//!   tables and swap them in while the old ones keep serving;
//! * the Kafka publisher ([`kafka`]): the same log, in order, to a Kafka
//!   topic for analysts, checkpointed only after the broker acknowledges
//!   (it shares the runner's lease and leader loop).
//!
//! The query API reads the tables directly (it depends on this schema, not on
//! this code). See `docs/decisions/0004-read-models.md`.

pub mod chats;
pub mod error;
pub mod kafka;
pub mod media;
pub mod messages;
mod polls;
pub mod projection;
pub mod rebuild;
mod registry;
pub mod runner;
pub mod users;

mod sql;
mod system;

pub use chat_common::read_models::{CheckpointWatch, NOTIFY_CHANNEL, TimedOut};
pub use error::{ProjectorError, Result};
pub use projection::{Fact, Projection};
pub use rebuild::{RebuildReport, RebuiltProjection, rebuild};
pub use registry::{all_projections, projection_by_name};
pub use runner::batch::{apply_batch, read_checkpoint};
pub use runner::status::{ProjectionStatus, ProjectorHandle};
pub use runner::{ProjectorConfig, spawn};

/// The read-model migrations. Other crates migrate the same database with
/// their own migrators, so versions this one does not know are ignored.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Create the read-model schemas and tables (idempotent).
pub async fn migrate(pool: &sqlx::PgPool) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    migrator().run(pool).await
}
