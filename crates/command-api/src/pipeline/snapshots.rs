//! Snapshots: where a cold load starts instead of version 1.
//!
//! Taken after a load that had to fold many events, so a long stream is
//! folded in full at most once per [`SNAPSHOT_EVERY`] events across all
//! nodes. A snapshot is checked like a cache entry: the load still reads
//! every event after its version.

use chat_store::typed::Loaded;
use sqlx::PgPool;
use sqlx::types::Json;

use super::Cached;

/// Fold at least this many events before writing a new snapshot.
pub const SNAPSHOT_EVERY: u64 = 500;

pub async fn read<A: Cached>(pool: &PgPool, stream: &str) -> Option<Loaded<A>> {
    let row: Option<(i64, i64, Json<A>)> = sqlx::query_as(
        "SELECT version, position, state FROM aggregate_snapshots WHERE stream = $1 AND schema = $2",
    )
    .bind(stream)
    .bind(A::SNAPSHOT_SCHEMA)
    .fetch_optional(pool)
    .await
    .unwrap_or_else(|e| {
        // A missing snapshot only costs time: fold from the start.
        tracing::warn!(error = %e, stream, "cannot read snapshot");
        None
    });
    row.map(|(v, p, Json(state))| Loaded {
        state,
        version: v as u64,
        position: p as u64,
    })
}

pub async fn write<A: Cached>(pool: &PgPool, stream: &str, loaded: &Loaded<A>) {
    let result = sqlx::query(
        "INSERT INTO aggregate_snapshots (stream, schema, version, position, state) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (stream) DO UPDATE SET schema = EXCLUDED.schema, version = EXCLUDED.version, \
           position = EXCLUDED.position, state = EXCLUDED.state, taken_at = now() \
         WHERE aggregate_snapshots.version < EXCLUDED.version \
            OR aggregate_snapshots.schema <> EXCLUDED.schema",
    )
    .bind(stream)
    .bind(A::SNAPSHOT_SCHEMA)
    .bind(loaded.version as i64)
    .bind(loaded.position as i64)
    .bind(Json(&loaded.state))
    .execute(pool)
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, stream, "cannot write snapshot");
    }
}
