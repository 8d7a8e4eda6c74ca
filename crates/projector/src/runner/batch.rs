//! One batch: apply events and move the checkpoint in one transaction.
//!
//! The transaction starts by locking the checkpoint row and checking it is
//! where the caller thinks it is. So even if two runners raced (a lost lease)
//! or a rebuild swapped the tables in between, no event is applied twice:
//! the loser's transaction sees a moved checkpoint and rolls back. The
//! notification is sent by the same transaction, hence only on commit.

use chat_store::RecordedEvent;
use sqlx::{PgConnection, PgPool};
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
/// which the projection handles: one statement, committed without waiting
/// for the disk. Losing it in a crash only means these events are skipped
/// again; a checkpoint that moved meanwhile (a lost lease, a rebuild) is
/// left alone and reported, as [`apply_batch`] does.
pub(crate) async fn skip_batch(
    pool: &PgPool,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    check_schema(schema)?;
    let Some(newest) = events.last() else {
        return read_checkpoint(pool, schema).await;
    };
    if newest.position <= expected {
        return Err(ProjectorError::OutOfOrder {
            checkpoint: expected,
            next: newest.position,
        });
    }
    let to = Checkpoint {
        position: newest.position,
        last_event_at: Some(newest.occurred_at),
    };
    let at = newest
        .occurred_at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| ProjectorError::Decode {
            position: newest.position,
            message: e.to_string(),
        })?;
    // Literals, not parameters: the simple protocol runs the whole script
    // in one round trip. Every value is a number, our own timestamp
    // rendering, a checked schema name or a projection's static name.
    let notify = if schema == projection.schema() {
        format!(
            "SELECT pg_notify('{NOTIFY_CHANNEL}', '{}:{}') FROM moved",
            projection.name(),
            to.position
        )
    } else {
        "SELECT 1 FROM moved".to_owned()
    };
    let done = sqlx::raw_sql(&format!(
        "BEGIN; SET LOCAL synchronous_commit = off;          WITH moved AS (UPDATE {schema}.checkpoint SET position = {},            last_event_at = '{at}', updated_at = now() WHERE position = {} RETURNING 1) {notify};          COMMIT",
        big(to.position),
        big(expected),
    ))
    .execute(pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(to);
    }
    let found = read_checkpoint(pool, schema).await?.position;
    Err(ProjectorError::CheckpointMoved {
        schema: schema.to_owned(),
        expected,
        found,
    })
}

/// [`apply_batch`] inside a transaction the caller commits.
pub(crate) async fn apply_in(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    expected: u64,
    events: &[RecordedEvent],
) -> Result<Checkpoint> {
    let row: Option<(i64, Option<OffsetDateTime>)> = sqlx::query_as(&format!(
        "SELECT position, last_event_at FROM {schema}.checkpoint FOR UPDATE"
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
    let mut last = Checkpoint {
        position: found,
        last_event_at: found_at,
    };
    // Checked up front: the projection applies the batch as a whole.
    for event in events {
        if event.position <= last.position {
            return Err(ProjectorError::OutOfOrder {
                checkpoint: last.position,
                next: event.position,
            });
        }
        last = Checkpoint {
            position: event.position,
            last_event_at: Some(event.occurred_at),
        };
    }
    projection.apply_events(&mut *conn, schema, events).await?;
    if last.position == found {
        return Ok(last);
    }
    sqlx::query(&format!(
        "UPDATE {schema}.checkpoint SET position = $1, last_event_at = $2, updated_at = now()"
    ))
    .bind(big(last.position))
    .bind(last.last_event_at)
    .execute(&mut *conn)
    .await?;
    if schema == projection.schema() {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(format!("{}:{}", projection.name(), last.position))
            .execute(&mut *conn)
            .await?;
    }
    Ok(last)
}
