//! The event-store contract, written once against `Arc<dyn EventStore>`.
//!
//! Every case in `contract_cases!` runs against Postgres (always, one fresh
//! database per case) and, when compiled with the `kurrentdb` feature, against
//! the KurrentDB at `EVENTSTORE_URL` (skipped with a note when it is unset).
//! The KurrentDB run shares one server between cases and runs: every case
//! uses its own stream names and never assumes it is alone in `$all`.
//!
//! The cases at the bottom are Postgres-only: they rely on what only the
//! Postgres store promises (contiguous positions starting at 1, event ids
//! unique across streams).

mod support;

use std::sync::Arc;

use chat_store::{AppendResult, Direction, EventStore, ExpectedVersion, Metadata, StoreError};
use futures::future::join_all;
use serde_json::json;
use support::{event, pg_store, take, take_of, unique_stream};
use uuid::Uuid;

type Store = Arc<dyn EventStore>;

/// Generate one `#[tokio::test]` per case and backend.
macro_rules! contract_cases {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let (_db, store) = crate::support::pg_store().await;
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }

        #[cfg(feature = "kurrentdb")]
        mod kurrentdb {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(store) = crate::support::kurrent_store().await else {
                        return;
                    };
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

contract_cases!(
    appending_to_a_new_stream_starts_at_version_one,
    a_wrong_expected_version_is_a_typed_conflict_and_writes_nothing,
    re_appending_the_same_event_ids_returns_the_original_result,
    re_appending_with_an_older_exact_version_or_any_returns_the_original_result,
    reusing_some_event_ids_for_a_different_append_is_refused,
    streams_read_forward_and_backward_from_a_version,
    the_global_log_reads_from_a_position_in_order,
    the_envelope_round_trips_every_field,
    one_messages_history_reads_by_subject,
    a_second_event_creating_a_subject_is_refused_with_the_first,
    concurrent_appends_at_the_same_version_let_exactly_one_win,
    a_subscription_catches_up_then_goes_live,
);

async fn appending_to_a_new_stream_starts_at_version_one(s: Store) {
    let a = unique_stream("a");
    let r = s
        .append(
            &a,
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("B", 2)],
        )
        .await
        .unwrap();
    assert_eq!((r.first_version, r.last_version), (1, 2));
    assert!(0 < r.first_position && r.first_position < r.last_position);
    assert!(!r.already_appended);
    let head = s.stream_head(&a).await.unwrap().unwrap();
    assert_eq!((head.version, head.position), (2, r.last_position));
    assert!(s.head_position().await.unwrap() >= r.last_position);
    let none = unique_stream("none");
    assert!(s.stream_head(&none).await.unwrap().is_none());
}

async fn a_wrong_expected_version_is_a_typed_conflict_and_writes_nothing(s: Store) {
    let a = unique_stream("a");
    s.append(&a, ExpectedVersion::Any, vec![event("A", 1)])
        .await
        .unwrap();
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(2),
    ] {
        let err = s
            .append(&a, expected, vec![event("B", 2)])
            .await
            .unwrap_err();
        match err {
            StoreError::WrongExpectedVersion { stream, actual, .. } => {
                assert_eq!(stream, a);
                assert_eq!(actual, 1);
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(s.stream_head(&a).await.unwrap().unwrap().version, 1);
    let ok = s
        .append(&a, ExpectedVersion::Exact(1), vec![event("B", 2)])
        .await
        .unwrap();
    assert_eq!(ok.last_version, 2);
}

async fn re_appending_the_same_event_ids_returns_the_original_result(s: Store) {
    let (a, x) = (unique_stream("a"), unique_stream("x"));
    let events = vec![event("A", 1), event("B", 2)];
    s.append(&x, ExpectedVersion::Any, vec![event("X", 0)])
        .await
        .unwrap();
    let first = s
        .append(&a, ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    s.append(&x, ExpectedVersion::Any, vec![event("X", 0)])
        .await
        .unwrap();
    // The retry's expected version no longer holds, yet it is recognised.
    let again = s
        .append(&a, ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    assert!(again.already_appended);
    assert_eq!(again, replay_of(&first));
    assert_eq!(s.stream_head(&a).await.unwrap().unwrap().version, 2);
    let stored = s.read_stream(&a, 1, Direction::Forward, 10).await.unwrap();
    assert_eq!(stored.len(), 2, "nothing written twice");
}

async fn re_appending_with_an_older_exact_version_or_any_returns_the_original_result(s: Store) {
    let a = unique_stream("a");
    s.append(&a, ExpectedVersion::NoStream, vec![event("A", 1)])
        .await
        .unwrap();
    let events = vec![event("B", 2), event("C", 3)];
    let first = s
        .append(&a, ExpectedVersion::Exact(1), events.clone())
        .await
        .unwrap();
    assert_eq!((first.first_version, first.last_version), (2, 3));
    let again = s
        .append(&a, ExpectedVersion::Exact(1), events.clone())
        .await
        .unwrap();
    assert!(again.already_appended);
    assert_eq!(again, replay_of(&first));
    let again_any = s.append(&a, ExpectedVersion::Any, events).await.unwrap();
    assert!(again_any.already_appended);
    assert_eq!(again_any, replay_of(&first));
    assert_eq!(s.stream_head(&a).await.unwrap().unwrap().version, 3);
}

async fn reusing_some_event_ids_for_a_different_append_is_refused(s: Store) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let first = event("A", 1);
    s.append(&a, ExpectedVersion::Any, vec![first.clone()])
        .await
        .unwrap();
    let err = s
        .append(&a, ExpectedVersion::Any, vec![first.clone(), event("B", 2)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    let err = s
        .append(&a, ExpectedVersion::NoStream, vec![first, event("B", 2)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    let twice = event("T", 0);
    let err = s
        .append(&b, ExpectedVersion::Any, vec![twice.clone(), twice])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    let err = s
        .append(&b, ExpectedVersion::Any, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmptyAppend), "{err:?}");
    assert_eq!(s.stream_head(&a).await.unwrap().unwrap().version, 1);
    assert!(s.stream_head(&b).await.unwrap().is_none());
}

async fn streams_read_forward_and_backward_from_a_version(s: Store) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let events: Vec<_> = (1..=10).map(|n| event("E", n)).collect();
    s.append(&a, ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    s.append(&b, ExpectedVersion::NoStream, vec![event("Other", 0)])
        .await
        .unwrap();

    let fwd = s.read_stream(&a, 4, Direction::Forward, 3).await.unwrap();
    assert_eq!(
        fwd.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert!(fwd.iter().all(|e| e.stream == a));
    let back = s.read_stream(&a, 4, Direction::Backward, 10).await.unwrap();
    assert_eq!(
        back.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![4, 3, 2, 1]
    );
    let newest = s
        .read_stream(&a, u64::MAX, Direction::Backward, 1)
        .await
        .unwrap();
    assert_eq!(newest[0].version, 10);
    assert!(
        s.read_stream(&a, 11, Direction::Forward, 5)
            .await
            .unwrap()
            .is_empty()
    );
    let missing = unique_stream("missing");
    assert!(
        s.read_stream(&missing, 1, Direction::Forward, 5)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_global_log_reads_from_a_position_in_order(s: Store) {
    let mut mine = Vec::new();
    let mut positions = Vec::new();
    for i in 0..5u64 {
        let stream = unique_stream(&format!("g{i}"));
        let r = s
            .append(&stream, ExpectedVersion::Any, vec![event("E", i)])
            .await
            .unwrap();
        positions.push(r.last_position);
        mine.push(stream);
    }
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let all = s.read_all(positions[1], 10_000).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    assert!(all.iter().all(|e| e.position > positions[1]));
    let ours: Vec<u64> = all
        .iter()
        .filter(|e| mine.contains(&e.stream))
        .map(|e| e.position)
        .collect();
    assert_eq!(ours, positions[2..].to_vec());
    let two = s.read_all(positions[1], 2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].position, all[0].position);
    assert!(
        s.read_all(positions[4], 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.position > positions[4])
    );
}

async fn the_envelope_round_trips_every_field(s: Store) {
    let a = unique_stream("a");
    let mut e = event("MessageSent", 7);
    e.schema_version = 1;
    e.subject = Some(Uuid::now_v7());
    e.metadata = Metadata {
        actor: Some(Uuid::now_v7()),
        command_id: Some("cmd-1".into()),
        correlation_id: Some("req-1".into()),
        causation_id: Some("cause".into()),
        tenant: Some("acme".into()),
    };
    // Positions are not contiguous everywhere: read the log from a known one.
    let before = s
        .append(&a, ExpectedVersion::NoStream, vec![event("Before", 0)])
        .await
        .unwrap();
    let r = s
        .append(&a, ExpectedVersion::Exact(1), vec![e.clone()])
        .await
        .unwrap();
    let by_stream = s.read_stream(&a, 2, Direction::Forward, 1).await.unwrap();
    let by_log = s.read_all(before.last_position, 10_000).await.unwrap();
    let by_log = by_log
        .iter()
        .find(|x| x.event_id == e.event_id)
        .expect("the event is in the global log");
    for got in [&by_stream[0], by_log] {
        assert_eq!(got.event_id, e.event_id);
        assert_eq!(got.event_id.get_version_num(), 7, "event ids are UUIDv7");
        assert_eq!(got.stream, a);
        assert_eq!((got.version, got.position), (2, r.last_position));
        assert_eq!(got.event_type, "MessageSent");
        assert_eq!(got.schema_version, 1);
        assert_eq!(got.subject, e.subject);
        assert_eq!(got.payload, json!({ "n": 7 }));
        assert_eq!(got.metadata, e.metadata);
        // Postgres keeps microseconds.
        assert_eq!(
            got.occurred_at.unix_timestamp(),
            e.occurred_at.unix_timestamp()
        );
        let age = time::OffsetDateTime::now_utc() - got.recorded_at;
        assert!(age.whole_seconds().abs() < 300, "recorded_at is now-ish");
    }
}

async fn one_messages_history_reads_by_subject(s: Store) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let m1 = Uuid::now_v7();
    let m2 = Uuid::now_v7();
    let mk = |kind: &str, subject| {
        let mut e = event(kind, 0);
        e.subject = Some(subject);
        e
    };
    s.append(
        &a,
        ExpectedVersion::Any,
        vec![
            mk("MessageSent", m1),
            mk("MessageSent", m2),
            mk("MessageEdited", m1),
            event("ReadMarkerMoved", 1),
        ],
    )
    .await
    .unwrap();
    s.append(&b, ExpectedVersion::Any, vec![mk("MessageSent", m1)])
        .await
        .unwrap();
    let got = s.read_subject(&a, m1).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["MessageSent", "MessageEdited"]
    );
    assert!(got.iter().all(|e| e.stream == a));
}

async fn a_second_event_creating_a_subject_is_refused_with_the_first(s: Store) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let m = Uuid::now_v7();
    let creates = |n| {
        let mut e = event("MessageSent", n);
        e.subject = Some(m);
        e.creates_subject = true;
        e
    };
    let first = s
        .append(
            &a,
            ExpectedVersion::Any,
            vec![event("Other", 0), creates(1)],
        )
        .await
        .unwrap();
    let again = s.append(&a, ExpectedVersion::Any, vec![creates(2)]).await;
    match again {
        Err(StoreError::SubjectTaken {
            stream,
            subject,
            version,
            position,
        }) => {
            assert_eq!((stream, subject), (a.clone(), m));
            assert_eq!((version, position), (2, first.last_position));
        }
        other => panic!("expected SubjectTaken, got {other:?}"),
    }
    assert_eq!(
        s.read_stream(&a, 1, Direction::Forward, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // Another stream may have the same subject; later events about it are
    // not creations.
    s.append(&b, ExpectedVersion::Any, vec![creates(3)])
        .await
        .unwrap();
    let mut edit = event("MessageEdited", 4);
    edit.subject = Some(m);
    s.append(&a, ExpectedVersion::Any, vec![edit])
        .await
        .unwrap();
}

async fn concurrent_appends_at_the_same_version_let_exactly_one_win(s: Store) {
    let race = unique_stream("race");
    let tries = (0..16).map(|i| {
        let s = s.clone();
        let race = race.clone();
        async move {
            s.append(&race, ExpectedVersion::Exact(0), vec![event("E", i)])
                .await
        }
    });
    let results = join_all(tries).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::WrongExpectedVersion { .. })))
        .count();
    assert_eq!((wins, conflicts), (1, 15), "{results:?}");
    assert_eq!(s.stream_head(&race).await.unwrap().unwrap().version, 1);
}

async fn a_subscription_catches_up_then_goes_live(s: Store) {
    let (a, b) = (unique_stream("a"), unique_stream("b"));
    let mut written = Vec::new();
    for i in 1..=3 {
        let r = s
            .append(&a, ExpectedVersion::Any, vec![event("E", i)])
            .await
            .unwrap();
        written.push(r.last_position);
    }
    let mut sub = s.subscribe(written[0]);
    let caught_up = take_of(&mut sub, &[&a, &b], 2).await;
    assert_eq!(
        caught_up.iter().map(|e| e.position).collect::<Vec<_>>(),
        written[1..].to_vec()
    );
    let live_write = s
        .append(&b, ExpectedVersion::Any, vec![event("E", 4), event("E", 5)])
        .await
        .unwrap();
    let live = take_of(&mut sub, &[&a, &b], 2).await;
    assert_eq!(
        live.iter()
            .map(|e| (e.version, e.position))
            .collect::<Vec<_>>(),
        vec![
            (1, live_write.first_position),
            (2, live_write.last_position)
        ]
    );
}

/// What a replay of the append that returned `r` must return.
fn replay_of(r: &AppendResult) -> AppendResult {
    AppendResult {
        already_appended: true,
        ..r.clone()
    }
}

// ---- Postgres-only: contiguous positions and globally unique event ids ----

#[tokio::test]
async fn postgres_positions_are_contiguous_from_one() {
    let (_db, s) = pg_store().await;
    let r = s
        .append(
            "chat-a",
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("B", 2)],
        )
        .await
        .unwrap();
    assert_eq!((r.first_position, r.last_position), (1, 2));
    assert_eq!(s.head_position().await.unwrap(), 2);
    for i in 0..3u64 {
        s.append(
            &format!("chat-{i}"),
            ExpectedVersion::Any,
            vec![event("E", i)],
        )
        .await
        .unwrap();
    }
    let all = s.read_all(2, 2).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert!(s.read_all(5, 10).await.unwrap().is_empty());
    let mut sub = s.subscribe(3);
    assert_eq!(take(&mut sub, 2).await[1].position, 5);
}

#[tokio::test]
async fn postgres_replays_write_nothing_to_the_log() {
    let (_db, s) = pg_store().await;
    let events = vec![event("A", 1), event("B", 2)];
    s.append("chat-a", ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    s.append("chat-x", ExpectedVersion::Any, vec![event("X", 0)])
        .await
        .unwrap();
    let again = s
        .append("chat-a", ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    assert!(again.already_appended);
    assert_eq!(s.head_position().await.unwrap(), 3);
}

#[tokio::test]
async fn postgres_event_ids_are_unique_across_streams() {
    let (_db, s) = pg_store().await;
    let a = event("A", 1);
    s.append("chat-a", ExpectedVersion::Any, vec![a.clone()])
        .await
        .unwrap();
    let err = s
        .append("chat-b", ExpectedVersion::Any, vec![a.clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    // Also when the reused id is not the first of the append.
    let err = s
        .append("chat-a", ExpectedVersion::Exact(1), vec![event("B", 2), a])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 1);
}

/// The appender writes values as SQL literals: text that is special to SQL
/// or JSON must come back exactly as it went in, and nothing else runs.
#[tokio::test]
async fn postgres_stores_hostile_text_exactly() {
    let (_db, s) = pg_store().await;
    let hostile = "it's \\ \"quoted\" \\x00ff ünï 😀 '); DROP TABLE events; --";
    let stream = "chat-it's\\odd";
    let mut e = event("Odd'Type", 1);
    e.payload = json!({ "text": hostile, hostile: [hostile] });
    e.metadata.correlation_id = Some(hostile.to_owned());
    e.metadata.command_id = Some("$$;'".to_owned());
    s.append(stream, ExpectedVersion::NoStream, vec![e.clone()])
        .await
        .unwrap();
    let got = s
        .read_stream(stream, 1, Direction::Forward, 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (&got[0].event_type, &got[0].payload, &got[0].metadata),
        (&e.event_type, &e.payload, &e.metadata)
    );
    assert_eq!(s.read_all(0, 10).await.unwrap().len(), 1);
    assert!(
        s.append(stream, ExpectedVersion::Any, vec![event("Bad\0Type", 2)])
            .await
            .is_err(),
        "NUL is refused, not truncated"
    );
}
