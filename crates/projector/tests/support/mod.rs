//! Shared setup for the projector's integration tests: a database per test,
//! the store and the read models migrated, histories produced by running
//! real domain commands, and row-for-row snapshots of the read models.
#![allow(dead_code)]

pub mod history;
pub mod script;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chat_projector::{
    ProjectorConfig, ProjectorHandle, all_projections, apply_batch, read_checkpoint,
};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, Upcasters};
use chat_testkit::TestDb;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;

pub use history::History;

/// Generous bound for waits; only guards against hangs.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Env {
    pub db: TestDb,
    pub pool: PgPool,
    pub store: PgEventStore,
}

pub async fn env() -> Env {
    let db = TestDb::create().await;
    let pool = db.pool(20).await;
    postgres::migrate(&pool).await.expect("store migrations");
    chat_projector::migrate(&pool)
        .await
        .expect("read-model migrations");
    let store = PgEventStore::new(pool.clone(), Upcasters::new(), PgStoreConfig::default());
    Env { db, pool, store }
}

impl Env {
    pub fn history(&self) -> History {
        History::new(self.store.clone())
    }

    /// Start a projector over every projection; `true` on the sender stops it.
    pub fn spawn(&self, batch_size: usize) -> (ProjectorHandle, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let config = ProjectorConfig {
            batch_size,
            lease_retry: Duration::from_millis(50),
            lease_check: Duration::from_millis(200),
            ..ProjectorConfig::default()
        };
        let store: Arc<dyn EventStore> = Arc::new(self.store.clone());
        let handle = chat_projector::spawn(self.pool.clone(), store, all_projections(), config, rx);
        (handle, tx)
    }

    /// Wait until every projection has applied the whole log and `handle`
    /// reports it.
    pub async fn caught_up(&self, handle: &ProjectorHandle) -> u64 {
        let head = self.store.head_position().await.expect("head");
        handle
            .wait_for(&self.pool, head, WAIT)
            .await
            .expect("projector caught up");
        // Checkpoints are committed before the runner updates its own report.
        tokio::time::timeout(WAIT, async {
            while handle.min_position() < head {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the handle reports the committed checkpoints");
        head
    }

    /// Every read-model table, row for row.
    pub async fn snapshot(&self) -> Snapshot {
        snapshot(&self.pool).await
    }

    /// Empty every read model and project the whole log from scratch,
    /// in one batch per projection: the reference to compare with.
    pub async fn project_from_scratch(&self) -> Snapshot {
        let events = self.store.read_all(0, 1_000_000).await.expect("read log");
        for p in all_projections() {
            let s = p.schema();
            for t in tables(&self.pool, s).await {
                sqlx::query(&format!("TRUNCATE {s}.{t}"))
                    .execute(&self.pool)
                    .await
                    .expect("truncate");
            }
            sqlx::query(&format!("INSERT INTO {s}.checkpoint DEFAULT VALUES"))
                .execute(&self.pool)
                .await
                .expect("checkpoint row");
            apply_batch(&self.pool, p.as_ref(), s, 0, &events)
                .await
                .expect("apply the whole log");
        }
        self.snapshot().await
    }

    pub async fn checkpoint(&self, schema: &str) -> u64 {
        read_checkpoint(&self.pool, schema)
            .await
            .expect("checkpoint")
            .position
    }

    /// One row of a query as JSON (`SELECT to_jsonb(x) FROM …`).
    pub async fn json(&self, sql: &str) -> Value {
        let rows = self.rows(sql).await;
        assert_eq!(rows.len(), 1, "expected one row from {sql}: {rows:?}");
        rows.into_iter().next().unwrap_or(Value::Null)
    }

    pub async fn rows(&self, sql: &str) -> Vec<Value> {
        sqlx::query_as::<_, (Value,)>(sql)
            .fetch_all(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|(v,)| v)
            .collect()
    }
}

/// `schema.table` → rows as JSON, sorted; checkpoints without `updated_at`.
pub type Snapshot = BTreeMap<String, Vec<Value>>;

pub async fn snapshot(pool: &PgPool) -> Snapshot {
    let mut out = Snapshot::new();
    for p in all_projections() {
        let s = p.schema();
        for t in tables(pool, s).await {
            let rows: Vec<(Value,)> = sqlx::query_as(&format!(
                "SELECT to_jsonb(x) - 'updated_at' FROM {s}.{t} x ORDER BY to_jsonb(x)::text"
            ))
            .fetch_all(pool)
            .await
            .expect("snapshot rows");
            out.insert(format!("{s}.{t}"), rows.into_iter().map(|(v,)| v).collect());
        }
    }
    out
}

pub async fn tables(pool: &PgPool, schema: &str) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1")
            .bind(schema)
            .fetch_all(pool)
            .await
            .expect("list tables");
    rows.into_iter().map(|(t,)| t).collect()
}
