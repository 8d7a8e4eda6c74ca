//! Tamper evidence: the hash chain catches an edit made behind the store's back.

mod support;

use chat_store::{EventStore, ExpectedVersion};
use support::{event, pg_store};

#[tokio::test]
async fn an_untouched_log_verifies() {
    let (_db, s) = pg_store().await;
    for i in 0..5 {
        s.append(
            "chat-a",
            ExpectedVersion::Any,
            vec![event("E", i), event("F", i)],
        )
        .await
        .unwrap();
        s.append("user-b", ExpectedVersion::Any, vec![event("G", i)])
            .await
            .unwrap();
    }
    let a = s.verify_stream("chat-a").await.unwrap();
    assert!(a.valid && a.events == 10, "{a:?}");
    let all = s.verify_all().await.unwrap();
    assert_eq!((all.valid, all.streams, all.events), (true, 2, 15));
}

#[tokio::test]
async fn editing_a_payload_in_the_table_breaks_the_chain_at_that_event() {
    let (_db, s) = pg_store().await;
    for i in 0..6 {
        s.append("chat-a", ExpectedVersion::Any, vec![event("E", i)])
            .await
            .unwrap();
    }
    s.append("chat-b", ExpectedVersion::Any, vec![event("E", 0)])
        .await
        .unwrap();
    sqlx::query(
        "UPDATE events SET payload = '{\"n\": 999}' WHERE stream = 'chat-a' AND version = 4",
    )
    .execute(s.pool())
    .await
    .unwrap();
    let a = s.verify_stream("chat-a").await.unwrap();
    assert!(!a.valid);
    assert_eq!(a.first_broken_version, Some(4));
    let all = s.verify_all().await.unwrap();
    assert!(!all.valid);
    assert_eq!(all.broken.len(), 1);
    assert_eq!(all.broken[0].stream, "chat-a");
    // Deleting an event is caught too (a version gap).
    sqlx::query("DELETE FROM events WHERE stream = 'chat-b'")
        .execute(s.pool())
        .await
        .unwrap();
    s.append(
        "chat-c",
        ExpectedVersion::Any,
        vec![event("E", 0), event("E", 1)],
    )
    .await
    .unwrap();
    sqlx::query("DELETE FROM events WHERE stream = 'chat-c' AND version = 1")
        .execute(s.pool())
        .await
        .unwrap();
    let c = s.verify_stream("chat-c").await.unwrap();
    assert_eq!((c.valid, c.first_broken_version), (false, Some(2)));
    // chat-b vanished whole: no stream of its own is left to break, but the
    // hole it left in the global positions is reported.
    let all = s.verify_all().await.unwrap();
    assert_eq!(all.first_missing_position, Some(7));
}
