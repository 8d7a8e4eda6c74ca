//! The event-store contract, written once against `dyn EventStore`. Each
//! backend runs the same cases (the EventStoreDB backend joins with its
//! feature); here: Postgres.

mod support;

use std::sync::Arc;

use chat_store::{Direction, EventStore, ExpectedVersion, Metadata, StoreError};
use futures::future::join_all;
use serde_json::json;
use support::{event, pg_store, take};
use uuid::Uuid;

#[tokio::test]
async fn appending_to_a_new_stream_starts_at_version_one() {
    let (_db, s) = pg_store().await;
    let r = s
        .append(
            "chat-a",
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("B", 2)],
        )
        .await
        .unwrap();
    assert_eq!((r.first_version, r.last_version), (1, 2));
    assert_eq!((r.first_position, r.last_position), (1, 2));
    assert!(!r.already_appended);
    let head = s.stream_head("chat-a").await.unwrap().unwrap();
    assert_eq!((head.version, head.position), (2, 2));
    assert_eq!(s.head_position().await.unwrap(), 2);
    assert!(s.stream_head("chat-none").await.unwrap().is_none());
}

#[tokio::test]
async fn a_wrong_expected_version_is_a_typed_conflict_and_writes_nothing() {
    let (_db, s) = pg_store().await;
    s.append("chat-a", ExpectedVersion::Any, vec![event("A", 1)])
        .await
        .unwrap();
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(2),
    ] {
        let err = s
            .append("chat-a", expected, vec![event("B", 2)])
            .await
            .unwrap_err();
        match err {
            StoreError::WrongExpectedVersion { stream, actual, .. } => {
                assert_eq!(stream, "chat-a");
                assert_eq!(actual, 1);
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(s.head_position().await.unwrap(), 1);
    let ok = s
        .append("chat-a", ExpectedVersion::Exact(1), vec![event("B", 2)])
        .await
        .unwrap();
    assert_eq!(ok.last_version, 2);
}

#[tokio::test]
async fn re_appending_the_same_event_ids_returns_the_original_result() {
    let (_db, s) = pg_store().await;
    let events = vec![event("A", 1), event("B", 2)];
    s.append("chat-x", ExpectedVersion::Any, vec![event("X", 0)])
        .await
        .unwrap();
    let first = s
        .append("chat-a", ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    s.append("chat-x", ExpectedVersion::Any, vec![event("X", 0)])
        .await
        .unwrap();
    // The retry's expected version no longer holds, yet it is recognised.
    let again = s
        .append("chat-a", ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    assert!(again.already_appended);
    assert_eq!(
        (
            again.first_version,
            again.last_version,
            again.first_position,
            again.last_position
        ),
        (
            first.first_version,
            first.last_version,
            first.first_position,
            first.last_position
        )
    );
    assert_eq!(s.head_position().await.unwrap(), 4);
}

#[tokio::test]
async fn reusing_some_event_ids_for_a_different_append_is_refused() {
    let (_db, s) = pg_store().await;
    let a = event("A", 1);
    s.append("chat-a", ExpectedVersion::Any, vec![a.clone()])
        .await
        .unwrap();
    let err = s
        .append(
            "chat-a",
            ExpectedVersion::Any,
            vec![a.clone(), event("B", 2)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    let err = s
        .append("chat-b", ExpectedVersion::Any, vec![a])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    let err = s
        .append("chat-b", ExpectedVersion::Any, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmptyAppend), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 1);
}

#[tokio::test]
async fn streams_read_forward_and_backward_from_a_version() {
    let (_db, s) = pg_store().await;
    let events: Vec<_> = (1..=10).map(|n| event("E", n)).collect();
    s.append("chat-a", ExpectedVersion::NoStream, events)
        .await
        .unwrap();
    s.append("chat-b", ExpectedVersion::NoStream, vec![event("Other", 0)])
        .await
        .unwrap();

    let fwd = s
        .read_stream("chat-a", 4, Direction::Forward, 3)
        .await
        .unwrap();
    assert_eq!(
        fwd.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    let back = s
        .read_stream("chat-a", 4, Direction::Backward, 10)
        .await
        .unwrap();
    assert_eq!(
        back.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![4, 3, 2, 1]
    );
    let newest = s
        .read_stream("chat-a", u64::MAX, Direction::Backward, 1)
        .await
        .unwrap();
    assert_eq!(newest[0].version, 10);
    assert!(
        s.read_stream("chat-a", 11, Direction::Forward, 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_global_log_reads_from_a_position_in_order() {
    let (_db, s) = pg_store().await;
    for i in 0..5u64 {
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
}

#[tokio::test]
async fn the_envelope_round_trips_every_field() {
    let (_db, s) = pg_store().await;
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
    s.append("chat-a", ExpectedVersion::Any, vec![e.clone()])
        .await
        .unwrap();
    let got = &s.read_all(0, 1).await.unwrap()[0];
    assert_eq!(got.event_id, e.event_id);
    assert_eq!(got.event_id.get_version_num(), 7, "event ids are UUIDv7");
    assert_eq!(got.stream, "chat-a");
    assert_eq!(got.event_type, "MessageSent");
    assert_eq!(got.subject, e.subject);
    assert_eq!(got.payload, json!({ "n": 7 }));
    assert_eq!(got.metadata, e.metadata);
    // Postgres keeps microseconds.
    assert_eq!(
        got.occurred_at.unix_timestamp(),
        e.occurred_at.unix_timestamp()
    );
}

#[tokio::test]
async fn one_messages_history_reads_by_subject() {
    let (_db, s) = pg_store().await;
    let m1 = Uuid::now_v7();
    let m2 = Uuid::now_v7();
    let mk = |kind: &str, subject| {
        let mut e = event(kind, 0);
        e.subject = Some(subject);
        e
    };
    s.append(
        "chat-a",
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
    s.append("chat-b", ExpectedVersion::Any, vec![mk("MessageSent", m1)])
        .await
        .unwrap();
    let got = s.read_subject("chat-a", m1).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["MessageSent", "MessageEdited"]
    );
    assert!(got.iter().all(|e| e.stream == "chat-a"));
}

#[tokio::test]
async fn concurrent_appends_at_the_same_version_let_exactly_one_win() {
    let (_db, s) = pg_store().await;
    let s = Arc::new(s);
    let tries = (0..16).map(|i| {
        let s = s.clone();
        async move {
            s.append("chat-race", ExpectedVersion::Exact(0), vec![event("E", i)])
                .await
        }
    });
    let results = join_all(tries).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::WrongExpectedVersion { .. })))
        .count();
    assert_eq!((wins, conflicts), (1, 15));
    assert_eq!(
        s.stream_head("chat-race").await.unwrap().unwrap().version,
        1
    );
}

#[tokio::test]
async fn a_subscription_catches_up_then_goes_live() {
    let (_db, s) = pg_store().await;
    for i in 1..=3 {
        s.append("chat-a", ExpectedVersion::Any, vec![event("E", i)])
            .await
            .unwrap();
    }
    let mut sub = s.subscribe(1);
    let caught_up = take(&mut sub, 2).await;
    assert_eq!(
        caught_up.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![2, 3]
    );
    s.append(
        "chat-b",
        ExpectedVersion::Any,
        vec![event("E", 4), event("E", 5)],
    )
    .await
    .unwrap();
    let live = take(&mut sub, 2).await;
    assert_eq!(
        live.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![4, 5]
    );
}
