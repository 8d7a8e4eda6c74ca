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

/// Crypto-shredding: personal data is sealed in the table, opens while its
/// key exists (also after a master key rotation), reads blank once an
/// event destroyed the key, and the chain verifies throughout.
#[tokio::test]
async fn sealed_events_open_with_their_key_read_blank_without_it_and_keep_verifying() {
    use std::sync::Arc;

    use chat_common::config::Secret;
    use chat_common::sealing::MasterKey;
    use chat_domain::{ChatEvent, MessageKind};
    use chat_store::postgres::{PgEventStore, PgStoreConfig, rewrap_keys};
    use chat_store::sealing::Sealer;
    use chat_store::typed::encode;
    use chat_store::{Direction, Metadata, Upcasters};
    use time::OffsetDateTime;
    use uuid::Uuid;

    let (old, new) = (
        Secret::new("the first master key, at least thirty-two bytes"),
        Secret::new("the second master key, at least thirty-two bytes"),
    );
    let sealing = |key: MasterKey| PgStoreConfig {
        sealer: Some(Sealer::new(Arc::new(key))),
        ..PgStoreConfig::default()
    };
    let (db, s) =
        support::pg_store_with(Upcasters::new(), sealing(MasterKey::new(&old, None))).await;
    let (chat, at) = (Uuid::now_v7(), OffsetDateTime::now_utc());
    let sent = |seq: u64, text: &str| ChatEvent::MessageSent {
        chat_id: chat,
        message_id: Uuid::from_u128(u128::from(seq)),
        client_msg_id: format!("c{seq}"),
        seq,
        sender_id: Uuid::from_u128(99),
        kind: MessageKind::Text,
        text: Some(text.to_owned()),
        media: None,
        reply_to: None,
        forward_of: None,
        mentions: Vec::new(),
        poll: None,
        location: None,
        at,
    };
    let stream = chat_domain::chat_stream(chat);
    let new_events = |events: &[ChatEvent]| {
        events
            .iter()
            .map(|e| encode(e, &Metadata::default(), at).unwrap())
            .collect::<Vec<_>>()
    };
    s.append(
        &stream,
        ExpectedVersion::NoStream,
        new_events(&[sent(1, "the secret plan"), sent(2, "the kept word")]),
    )
    .await
    .unwrap();
    let raw: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM events")
        .fetch_all(s.pool())
        .await
        .unwrap();
    assert!(
        raw.iter()
            .all(|p| !p.contains("secret") && !p.contains("kept"))
    );
    let texts = |s: PgEventStore| {
        let stream = stream.clone();
        async move {
            let events = s
                .read_stream(&stream, 1, Direction::Forward, 10)
                .await
                .unwrap();
            events
                .iter()
                .map(|e| e.payload["text"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    let both = vec![
        Some("the secret plan".to_owned()),
        Some("the kept word".to_owned()),
    ];
    assert_eq!(texts(s.clone()).await, both);

    // Rotation: the previous key still opens; after the re-wrap the new
    // key alone does.
    let pool = db.pool(4).await;
    let rotated = PgEventStore::new(
        pool.clone(),
        Upcasters::new(),
        sealing(MasterKey::new(&new, Some(&old))),
    );
    assert_eq!(texts(rotated.clone()).await, both);
    let sealer = rotated.sealer().unwrap().clone();
    assert_eq!(rewrap_keys(&pool, &sealer).await.unwrap(), 2);
    assert_eq!(rewrap_keys(&pool, &sealer).await.unwrap(), 0);
    let only_new = PgEventStore::new(
        pool.clone(),
        Upcasters::new(),
        sealing(MasterKey::new(&new, None)),
    );
    assert_eq!(texts(only_new.clone()).await, both);

    // Deleting the first message for everyone destroys its key only.
    let deleted = ChatEvent::MessageDeleted {
        chat_id: chat,
        message_id: Uuid::from_u128(1),
        seq: 1,
        by: Uuid::from_u128(99),
        sender_id: Uuid::from_u128(99),
        at,
    };
    only_new
        .append(&stream, ExpectedVersion::Exact(2), new_events(&[deleted]))
        .await
        .unwrap();
    assert_eq!(
        texts(only_new.clone()).await[..2],
        [None, Some("the kept word".to_owned())]
    );
    let all = only_new.verify_all().await.unwrap();
    assert!(all.valid && all.events == 3, "{all:?}");
}
