//! Shared setup for the store's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStream, NewEvent, RecordedEvent, Upcasters};
use chat_testkit::TestDb;
use futures::StreamExt;
use serde_json::json;
use time::OffsetDateTime;

pub async fn pg_store_with(upcasters: Upcasters, config: PgStoreConfig) -> (TestDb, PgEventStore) {
    let db = TestDb::create().await;
    let pool = db.pool(16).await;
    postgres::migrate(&pool).await.expect("migrate");
    (db, PgEventStore::new(pool, upcasters, config))
}

pub async fn pg_store() -> (TestDb, PgEventStore) {
    pg_store_with(Upcasters::new(), PgStoreConfig::default()).await
}

pub fn event(kind: &str, n: u64) -> NewEvent {
    NewEvent::new(kind, json!({ "n": n }), OffsetDateTime::now_utc())
}

/// Take `n` events from a subscription, failing the test if they do not come
/// within a generous bound (the bound only guards against hangs).
pub async fn take(sub: &mut EventStream, n: usize) -> Vec<RecordedEvent> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("subscription delivered in time")
            .expect("subscription still open")
            .expect("subscription item is not an error");
        out.push(next);
    }
    out
}

/// A stream name no other test (or earlier run sharing the same KurrentDB)
/// uses: `chat-<label>-<uuid>`.
pub fn unique_stream(label: &str) -> String {
    format!("chat-{label}-{}", uuid::Uuid::now_v7().simple())
}

/// The KurrentDB store at `EVENTSTORE_URL`, or `None` (with a note on
/// stderr) when it is not set: the one skip the contract suite allows.
#[cfg(feature = "kurrentdb")]
pub async fn kurrent_store() -> Option<chat_store::kurrent::KurrentEventStore> {
    let Ok(url) = std::env::var("EVENTSTORE_URL") else {
        eprintln!("note: EVENTSTORE_URL is not set; skipping the KurrentDB run of this case");
        return None;
    };
    let store = chat_store::kurrent::KurrentEventStore::connect(&url, Upcasters::new())
        .await
        .unwrap_or_else(|e| panic!("EVENTSTORE_URL={url} is set but unusable: {e}"));
    Some(store)
}

/// Take `n` events of `streams` from a subscription, skipping events of other
/// streams (a shared KurrentDB carries other tests' events too).
pub async fn take_of(sub: &mut EventStream, streams: &[&str], n: usize) -> Vec<RecordedEvent> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = take(sub, 1).await.remove(0);
        if streams.contains(&next.stream.as_str()) {
            out.push(next);
        }
    }
    out
}
