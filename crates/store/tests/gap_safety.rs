//! Gap-safe global order (design.md, hard problem 3): a subscriber tailing
//! `position > last` must never skip an event whose transaction commits after
//! a later-numbered one, nor see one twice.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chat_store::postgres::{AppendRequest, PgEventStore, PgStoreConfig, append::append_within};
use chat_store::{EventStore, ExpectedVersion, RecordedEvent, StoreError, Upcasters};
use futures::future::join_all;
use support::{event, pg_store, pg_store_with, take};

/// Wait (bounded) until some session is blocked on an advisory lock.
async fn until_an_append_waits_for_the_lock(pool: &sqlx::PgPool) {
    for _ in 0..600 {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no append ever waited for the lock");
}

#[tokio::test]
async fn a_held_transaction_with_an_earlier_position_is_never_skipped() {
    let (_db, store) = pg_store().await;
    let store = Arc::new(store);
    store
        .append("chat-a", ExpectedVersion::Any, vec![event("E", 1)])
        .await
        .unwrap();
    let mut early = store.subscribe(0);
    assert_eq!(take(&mut early, 1).await[0].position, 1);

    // A transaction takes position 2 and stays open.
    let mut held = store.pool().begin().await.unwrap();
    let req = AppendRequest {
        stream: "chat-slow".into(),
        expected: ExpectedVersion::Any,
        events: vec![event("Slow", 2)],
    };
    let placed = append_within(&mut held, &[req]).await.unwrap();
    assert_eq!(placed[0].as_ref().unwrap().first_position, 2);

    // Later appends start while it is open; they must not become visible first.
    let later: Vec<_> = (3..=5)
        .map(|n| {
            let s = store.clone();
            tokio::spawn(async move {
                s.append(
                    &format!("chat-fast-{n}"),
                    ExpectedVersion::Any,
                    vec![event("Fast", n)],
                )
                .await
            })
        })
        .collect();
    until_an_append_waits_for_the_lock(store.pool()).await;
    assert!(
        store.read_all(1, 100).await.unwrap().is_empty(),
        "nothing after 1 is visible while 2 is open"
    );

    held.commit().await.unwrap();
    for h in later {
        h.await.unwrap().unwrap();
    }
    let mut late = store.subscribe(0);
    // The subscriber that was live throughout sees 2..=5; a new one sees 1..=5.
    for (sub, from) in [(&mut early, 2u64), (&mut late, 1u64)] {
        let got = take(sub, (6 - from) as usize).await;
        let positions: Vec<u64> = got.iter().map(|e| e.position).collect();
        assert_eq!(positions, (from..=5).collect::<Vec<_>>());
        assert_eq!(
            got.iter().filter(|e| e.event_type == "Slow").count(),
            1,
            "the late event exactly once"
        );
    }
    // And nothing more arrives after the last one.
    let extra = tokio::time::timeout(
        Duration::from_millis(200),
        futures::StreamExt::next(&mut early),
    )
    .await;
    assert!(extra.is_err(), "no duplicate delivered: {extra:?}");
}

#[tokio::test]
async fn eight_writers_and_three_subscribers_see_one_identical_order() {
    const WRITERS: u64 = 8;
    const APPENDS: u64 = 60;
    const STREAMS: u64 = 6;
    let (_db, store) = pg_store().await;
    let store = Arc::new(store);
    let first = store.subscribe(0);

    let writers = (0..WRITERS).map(|w| {
        let s = store.clone();
        tokio::spawn(async move {
            let mut written = 0u64;
            for i in 0..APPENDS {
                let stream = format!("chat-{}", (w * 7 + i) % STREAMS);
                let events: Vec<_> = (0..=(i % 3))
                    .map(|k| event("E", w * 1000 + i * 10 + k))
                    .collect();
                // Exact expected versions, retried on conflict, so the
                // concurrency check is exercised under load too.
                loop {
                    let at = s
                        .stream_head(&stream)
                        .await
                        .unwrap()
                        .map_or(0, |h| h.version);
                    match s
                        .append(&stream, ExpectedVersion::Exact(at), events.clone())
                        .await
                    {
                        Ok(_) => break,
                        Err(StoreError::WrongExpectedVersion { .. }) => continue,
                        Err(e) => panic!("append failed: {e}"),
                    }
                }
                written += events.len() as u64;
            }
            written
        })
    });
    let mid_way = {
        let s = store.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            s.subscribe(0)
        })
    };
    let total: u64 = join_all(writers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .sum();
    let mut subs = [first, mid_way.await.unwrap(), store.subscribe(0)];

    let truth = store.read_all(0, total as usize + 10).await.unwrap();
    assert_eq!(truth.len() as u64, total);
    assert_eq!(
        truth.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    let truth_ids: Vec<_> = truth.iter().map(|e| e.event_id).collect();

    for sub in subs.iter_mut() {
        let got: Vec<RecordedEvent> = take(sub, total as usize).await;
        let ids: Vec<_> = got.iter().map(|e| e.event_id).collect();
        assert_eq!(
            ids, truth_ids,
            "every subscriber sees every event once, in one order"
        );
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    }
    // Per stream: versions are gapless and follow position order.
    let mut per_stream: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &truth {
        per_stream
            .entry(e.stream.as_str())
            .or_default()
            .push(e.version);
    }
    for (stream, versions) in per_stream {
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "{stream}"
        );
    }
}

#[tokio::test]
async fn subscribers_still_receive_everything_when_notifications_never_come() {
    let config = PgStoreConfig {
        listen: false,
        poll_interval: Duration::from_millis(20),
        ..PgStoreConfig::default()
    };
    let (_db, store) = pg_store_with(Upcasters::new(), config).await;
    let mut sub = store.subscribe(0);
    for i in 1..=5 {
        store
            .append("chat-a", ExpectedVersion::Any, vec![event("E", i)])
            .await
            .unwrap();
    }
    let got = take(&mut sub, 5).await;
    assert_eq!(
        got.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn old_schema_versions_are_upcast_on_read_and_never_rewritten() {
    let upcasters = Upcasters::new().register("Renamed", 1, |mut v| {
        if let Some(o) = v.as_object_mut()
            && let Some(x) = o.remove("name")
        {
            o.insert("title".into(), x);
        }
        v
    });
    let (_db, store) = pg_store_with(upcasters, PgStoreConfig::default()).await;
    let mut e = event("Renamed", 0);
    e.payload = serde_json::json!({ "name": "old" });
    store
        .append("chat-a", ExpectedVersion::Any, vec![e])
        .await
        .unwrap();

    let read = &store.read_all(0, 1).await.unwrap()[0];
    assert_eq!(read.schema_version, 2);
    assert_eq!(read.payload, serde_json::json!({ "title": "old" }));
    let (v, raw): (i32, serde_json::Value) =
        sqlx::query_as("SELECT schema_version, payload FROM events")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((v, raw), (1, serde_json::json!({ "name": "old" })));
}

/// Two stores on one database stand for two processes. Each one's tail gets
/// its own appends straight from its appender and the other's from the
/// table; interleaved, a subscriber of either must see every event exactly
/// once, in position order, with the payloads as stored.
#[tokio::test]
async fn local_and_remote_appends_interleave_without_loss_or_duplicates() {
    let (db, local) = pg_store().await;
    let remote_pool = db.pool(8).await;
    let remote = PgEventStore::new(remote_pool, Upcasters::new(), PgStoreConfig::default());
    let (local, remote) = (Arc::new(local), Arc::new(remote));
    let mut on_local = local.subscribe(0);
    let mut on_remote = remote.subscribe(0);

    const PER_WRITER: u64 = 150;
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            // Writers 0 and 2 append through `local`, 1 and 3 through `remote`.
            let store = if w % 2 == 0 {
                local.clone()
            } else {
                remote.clone()
            };
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let n = w * 1_000 + i;
                    store
                        .append(
                            &format!("chat-w{w}"),
                            ExpectedVersion::Any,
                            vec![event("E", n)],
                        )
                        .await
                        .unwrap();
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let total = (4 * PER_WRITER) as usize;
    let stored = local.read_all(0, total + 10).await.unwrap();
    assert_eq!(stored.len(), total);
    for sub in [&mut on_local, &mut on_remote] {
        let seen = take(sub, total).await;
        let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
        assert_eq!(positions, (1..=total as u64).collect::<Vec<_>>());
        for (got, want) in seen.iter().zip(&stored) {
            assert_eq!(
                (&got.event_id, &got.payload),
                (&want.event_id, &want.payload)
            );
            assert_eq!((&got.stream, got.version), (&want.stream, want.version));
        }
    }
}

/// A subscriber that stops reading while far more events than the fan-out
/// keeps go by still gets every one of them, in order, once it reads again
/// (from the store), and the others are not held up meanwhile.
#[tokio::test]
async fn a_subscriber_that_falls_behind_the_fanout_catches_up_from_the_store() {
    let (_db, store) = pg_store().await;
    let store = Arc::new(store);
    let mut slow = store.subscribe(0);
    let mut brisk = store.subscribe(0);
    let total = 10_000u64;
    for chunk in 0..(total / 500) {
        let events = (0..500).map(|i| event("E", chunk * 500 + i)).collect();
        store
            .append("chat-burst", ExpectedVersion::Any, events)
            .await
            .unwrap();
    }
    let fast = take(&mut brisk, total as usize).await;
    assert_eq!(fast.last().map(|e| e.position), Some(total));
    let late = take(&mut slow, total as usize).await;
    let positions: Vec<u64> = late.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
}
