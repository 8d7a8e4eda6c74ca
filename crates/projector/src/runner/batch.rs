//! One batch: apply events and move the checkpoint in one transaction.
//!
//! The transaction starts by locking the checkpoint row and checking it is
//! where the caller thinks it is. So even if two runners raced (a lost lease)
//! or a rebuild swapped the tables in between, no event is applied twice:
//! the loser's transaction sees a moved checkpoint and rolls back. The
//! notification is sent by the same transaction, hence only on commit.

use chat_store::RecordedEvent;
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

use crate::NOTIFY_CHANNEL;
use crate::error::{ProjectorError, Result};
use crate::projection::Projection;
use crate::sql::{big, check_schema};

/// Where a projection's checkpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Global position of the last applied event (0 = none).
    pub position: u64,
    /// When that event occurred.
    pub last_event_at: Option<OffsetDateTime>,
}

/// Create the checkpoint row of `schema` if missing (fresh rebuild tables).
pub(crate) async fn ensure_checkpoint(conn: &mut PgConnection, schema: &str) -> Result<()> {
    check_schema(schema)?;
    sqlx::query(&format!(
        "INSERT INTO {schema}.checkpoint DEFAULT VALUES ON CONFLICT DO NOTHING"
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// The committed checkpoint of `schema`.
pub async fn read_checkpoint(pool: &PgPool, schema: &str) -> Result<Checkpoint> {
    check_schema(schema)?;
    let row: Option<(i64, Option<OffsetDateTime>)> = sqlx::query_as(&format!(
        "SELECT position, last_event_at FROM {schema}.checkpoint"
    ))
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or(
        Checkpoint {
            position: 0,
            last_event_at: None,
        },
        |(p, at)| Checkpoint {
            position: u64::try_from(p).unwrap_or(0),
            last_event_at: at,
        },
    ))
}

/// Apply `events` (in order, all after `expected`) to `schema` and move its
/// checkpoint from `expected` to the last event, in one transaction.
/// Notifies `NOTIFY_CHANNEL` with `'<name>:<position>'` when `schema` is the
/// projection's live schema. Returns the new checkpoint.
pub async fn apply_batch(
    pool: &PgPool,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    check_schema(schema)?;
    let mut tx = pool.begin().await?;
    let applied = apply_in(&mut tx, projection, schema, expected, events).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Move the checkpoint of `schema` from `expected` past `events`, none of
/// which the projection handles: one statement, no transaction of its own
/// (on the runner's connection it does not wait for the disk either).
/// Losing it in a crash only means these events are skipped again; a
/// checkpoint that moved meanwhile (a lost lease, a rebuild) is left alone
/// and reported, as [`apply_batch`] does.
pub(crate) async fn skip_batch(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    advance(conn, projection, schema, expected, events, false).await
}

/// Where `events` take a checkpoint standing at `expected` (`None` for no
/// events); they must all come after it, in order.
fn through(expected: u64, events: &[RecordedEvent]) -> Result<Option<Checkpoint>> {
    let mut last = expected;
    for event in events {
        if event.position <= last {
            return Err(ProjectorError::OutOfOrder {
                checkpoint: last,
                next: event.position,
            });
        }
        last = event.position;
    }
    Ok(events.last().map(|newest| Checkpoint {
        position: newest.position,
        last_event_at: Some(newest.occurred_at),
    }))
}

/// [`apply_batch`] on a connection of the caller's (the runner's own).
pub(crate) async fn apply_batch_on(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    check_schema(schema)?;
    // The checkpoint row is locked first, in the same round trip as BEGIN: a
    // rebuild's swap takes its locks in that order too, so the two cannot
    // deadlock (data tables first, then the checkpoint, did).
    let mut tx = conn
        .begin_with(format!(
            "BEGIN; SELECT 1 FROM {schema}.checkpoint FOR UPDATE"
        ))
        .await?;
    let applied = apply_in(&mut tx, projection, schema, expected, events).await?;
    tx.commit().await?;
    Ok(applied)
}

/// [`apply_batch`] inside a transaction the caller commits.
///
/// The events are applied first and the checkpoint moves last, by one
/// statement that only matches the row still at `expected`: a runner that
/// lost the race (its lease, or to a rebuild's swap) finds no row, rolls
/// back and reports the move. Under READ COMMITTED a competing transaction
/// that moved the row first makes this one's update re-check and miss.
pub(crate) async fn apply_in(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    advance(conn, projection, schema, expected, events, true).await
}

/// Check `events` follow `expected` in order, apply them when `apply`, and
/// move the checkpoint past them ([`move_checkpoint`]).
async fn advance(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
    apply: bool,
) -> Result<Checkpoint> {
    // Checked up front: the projection applies the batch as a whole.
    let Some(to) = through(expected, events)? else {
        return current(conn, schema, expected).await;
    };
    if apply {
        projection.apply_events(&mut *conn, schema, events).await?;
    }
    move_checkpoint(conn, projection, schema, expected, to).await?;
    Ok(to)
}

/// Move the checkpoint of `schema` from `expected` to `to` and, for the live
/// schema, notify the waiters: one statement. `CheckpointMoved` if the row
/// is not at `expected`.
pub(crate) async fn move_checkpoint(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    to: Checkpoint,
) -> Result<()> {
    check_schema(schema)?;
    let notify = if schema == projection.schema() {
        "pg_notify($4, $5)::text"
    } else {
        "NULL::text"
    };
    let moved: Option<(Option<String>,)> = sqlx::query_as(&format!(
        "WITH moved AS (UPDATE {schema}.checkpoint SET position = $1, last_event_at = $2, \
           updated_at = now() WHERE position = $3 RETURNING 1) \
         SELECT {notify} FROM moved"
    ))
    .bind(big(to.position))
    .bind(to.last_event_at)
    .bind(big(expected))
    .bind(NOTIFY_CHANNEL)
    .bind(format!("{}:{}", projection.name(), to.position))
    .fetch_optional(&mut *conn)
    .await?;
    if moved.is_some() {
        return Ok(());
    }
    let found = current(conn, schema, expected).await?.position;
    Err(ProjectorError::CheckpointMoved {
        schema: schema.to_owned(),
        expected,
        found,
    })
}

/// The checkpoint row as it is (created if missing, as a fresh rebuild's
/// tables are); `CheckpointMoved` unless it is at `expected`.
async fn current(conn: &mut PgConnection, schema: &str, expected: u64) -> Result<Checkpoint> {
    let row: Option<(i64, Option<OffsetDateTime>)> = sqlx::query_as(&format!(
        "SELECT position, last_event_at FROM {schema}.checkpoint"
    ))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((found, found_at)) = row else {
        ensure_checkpoint(&mut *conn, schema).await?;
        return Err(ProjectorError::CheckpointMoved {
            schema: schema.to_owned(),
            expected,
            found: 0,
        });
    };
    let found = u64::try_from(found).unwrap_or(0);
    if found != expected {
        return Err(ProjectorError::CheckpointMoved {
            schema: schema.to_owned(),
            expected,
            found,
        });
    }
    Ok(Checkpoint {
        position: found,
        last_event_at: found_at,
    })
}
