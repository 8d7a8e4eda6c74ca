//! Rebuild a projection from position 0 into fresh tables and swap them in.
//!
//! 1. `<schema>_rebuild` gets a copy of every table of the live schema
//!    (`LIKE … INCLUDING ALL`, indexes renamed to the live names);
//! 2. the whole log is replayed into it with the same handlers and batches
//!    as the live runner, while the live tables keep serving and updating;
//! 3. one transaction locks the live checkpoint (`EXCLUSIVE`: readers go on,
//!    the live runner's next batch waits at its first statement), applies the
//!    last events and swaps the schemas by renaming (a read model holds only
//!    what events say, so nothing else needs carrying over). The waiting batch then resolves the names to the
//!    new tables, finds the checkpoint moved and resumes from there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_store::EventStore;
use sqlx::{Connection, PgConnection, PgPool};
use tracing::info;

use crate::NOTIFY_CHANNEL;
use crate::error::{ProjectorError, Result};
use crate::projection::Projection;
use crate::registry::{all_projections, projection_by_name};
use crate::runner::batch::{apply_batch, apply_in, ensure_checkpoint};
use crate::sql::check_schema;

/// Events read from the store per batch while replaying.
pub const REBUILD_BATCH: usize = 1_000;

/// Advisory-lock class of "a rebuild of this schema is running".
const REBUILD_CLASS: i32 = 0x6368_7262; // "chrb"

/// What one projection's rebuild did.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuiltProjection {
    pub name: &'static str,
    /// The checkpoint the new tables went live with.
    pub position: u64,
    /// Events replayed.
    pub events: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    pub projections: Vec<RebuiltProjection>,
}

/// Rebuild the projection called `name` (`None` or `"all"`: every one).
pub async fn rebuild(
    pool: &PgPool,
    store: &dyn EventStore,
    name: Option<&str>,
) -> Result<RebuildReport> {
    let projections = match name {
        None => all_projections(),
        Some(n) => projection_by_name(n)?,
    };
    let mut report = RebuildReport::default();
    for p in projections {
        report.projections.push(rebuild_one(pool, store, p).await?);
    }
    Ok(report)
}

/// Rebuild one projection (see the module docs).
pub async fn rebuild_one(
    pool: &PgPool,
    store: &dyn EventStore,
    projection: Arc<dyn Projection>,
) -> Result<RebuiltProjection> {
    let started = Instant::now();
    let live = projection.schema();
    let fresh = format!("{live}_rebuild");
    check_schema(&fresh)?;
    let mut guard = PgConnection::connect_with(&pool.connect_options()).await?;
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, hashtext($2))")
        .bind(REBUILD_CLASS)
        .bind(live)
        .fetch_one(&mut guard)
        .await?;
    if !got {
        return Err(ProjectorError::RebuildRunning(projection.name().to_owned()));
    }
    let result = async {
        prepare(pool, live, &fresh).await?;
        info!(
            projection = projection.name(),
            "replaying into fresh tables"
        );
        let mut position = 0;
        let mut events = 0u64;
        loop {
            let page = store.read_all(position, REBUILD_BATCH).await?;
            let Some(last) = page.last() else { break };
            let last = last.position;
            apply_batch(pool, projection.as_ref(), &fresh, position, &page).await?;
            events += page.len() as u64;
            position = last;
        }
        // Fresh statistics before the tables start serving queries.
        crate::sql::analyze_schema(pool, &fresh).await?;
        let (position, tail) = swap(pool, store, projection.as_ref(), &fresh, position).await?;
        Ok(RebuiltProjection {
            name: projection.name(),
            position,
            events: events + tail,
            elapsed: started.elapsed(),
        })
    }
    .await;
    let _ = guard.close().await;
    if let Ok(r) = &result {
        info!(
            projection = r.name,
            position = r.position,
            events = r.events,
            "rebuilt and swapped in"
        );
    }
    result
}

/// Empty copies of every live table in `fresh`, indexes named as live.
async fn prepare(pool: &PgPool, live: &str, fresh: &str) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {fresh} CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {fresh}"))
        .execute(&mut *tx)
        .await?;
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1")
            .bind(live)
            .fetch_all(&mut *tx)
            .await?;
    for (t,) in &tables {
        sqlx::query(&format!(
            "CREATE TABLE {fresh}.\"{t}\" (LIKE {live}.\"{t}\" INCLUDING ALL)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    rename_indexes(&mut tx, live, fresh).await?;
    ensure_checkpoint(&mut tx, fresh).await?;
    tx.commit().await?;
    Ok(())
}

/// `LIKE` names copied indexes itself; give them the live names so that
/// later migrations referring to an index by name keep working after a swap.
async fn rename_indexes(conn: &mut PgConnection, live: &str, fresh: &str) -> Result<()> {
    let q =
        "SELECT indexname::text, tablename::text, indexdef FROM pg_indexes WHERE schemaname = $1";
    let norm = |schema: &str, (name, table, def): &(String, String, String)| {
        let shape = def.replacen(&format!("INDEX {name} ON {schema}."), "INDEX ON ", 1);
        (table.clone(), shape)
    };
    let live_idx: Vec<(String, String, String)> =
        sqlx::query_as(q).bind(live).fetch_all(&mut *conn).await?;
    let fresh_idx: Vec<(String, String, String)> =
        sqlx::query_as(q).bind(fresh).fetch_all(&mut *conn).await?;
    for l in &live_idx {
        let want = norm(live, l);
        let Some(f) = fresh_idx.iter().find(|f| norm(fresh, f) == want) else {
            return Err(ProjectorError::RebuildSetup {
                schema: live.to_owned(),
                message: format!("no copy of index {}", l.0),
            });
        };
        if f.0 != l.0 {
            sqlx::query(&format!(
                "ALTER INDEX {fresh}.\"{}\" RENAME TO \"{}\"",
                f.0, l.0
            ))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Catch up under the live checkpoint's lock and swap the schemas. Returns
/// the final position and the number of events applied during the swap.
async fn swap(
    pool: &PgPool,
    store: &dyn EventStore,
    projection: &dyn Projection,
    fresh: &str,
    mut position: u64,
) -> Result<(u64, u64)> {
    let live = projection.schema();
    let old = format!("{live}_old");
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("LOCK TABLE {live}.checkpoint IN EXCLUSIVE MODE"))
        .execute(&mut *tx)
        .await?;
    let mut tail = 0u64;
    loop {
        let page = store.read_all(position, REBUILD_BATCH).await?;
        if page.is_empty() {
            break;
        }
        position = apply_in(&mut tx, projection, fresh, position, &page)
            .await?
            .position;
        tail += page.len() as u64;
    }
    for sql in [
        format!("DROP SCHEMA IF EXISTS {old} CASCADE"),
        format!("ALTER SCHEMA {live} RENAME TO {old}"),
        format!("ALTER SCHEMA {fresh} RENAME TO {live}"),
        format!("DROP SCHEMA {old} CASCADE"),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(format!("{}:{position}", projection.name()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((position, tail))
}
