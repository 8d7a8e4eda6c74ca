//! Domain events through the store: encode with the domain's type, version
//! and subject, append, fold back into the aggregate.

mod support;

use chat_domain::{
    Aggregate, Chat, ChatAction, ChatCommand, ChatStatus, MessageFacts, MessageKind, Policy,
    chat_stream, direct_chat_id, message_id,
};
use chat_store::typed::{self, Loaded};
use chat_store::{EventStore, ExpectedVersion, Metadata};
use support::pg_store;
use time::OffsetDateTime;
use uuid::Uuid;

async fn run(store: &dyn EventStore, stream: &str, cmd: ChatCommand) -> Loaded<Chat> {
    let loaded: Loaded<Chat> = typed::load(store, stream).await.unwrap();
    let events = loaded.state.decide(&cmd, &Policy::default()).unwrap();
    let meta = Metadata {
        actor: Some(cmd.actor),
        ..Metadata::default()
    };
    let new = events
        .iter()
        .map(|e| typed::encode(e, &meta, cmd.at).unwrap())
        .collect();
    store
        .append(stream, ExpectedVersion::Exact(loaded.version), new)
        .await
        .unwrap();
    typed::load(store, stream).await.unwrap()
}

#[tokio::test]
async fn a_chat_folds_back_from_its_stored_events() {
    let (_db, store) = pg_store().await;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let chat_id = direct_chat_id(alice, bob);
    let stream = chat_stream(chat_id);
    let at = OffsetDateTime::now_utc();
    let start = ChatCommand {
        subscribers: Vec::new(),
        actor: alice,
        at,
        action: ChatAction::StartDirect {
            chat_id,
            recipient: bob,
            recipient_blocked_requester: false,
            requester_blocked_recipient: false,
            recipient_accepts_requests: true,
        },
    };
    let after_start = run(&store, &stream, start).await;
    assert_eq!(after_start.state.status(), ChatStatus::Pending);
    let accepted = run(
        &store,
        &stream,
        ChatCommand {
            subscribers: Vec::new(),
            actor: bob,
            at,
            action: ChatAction::AcceptRequest,
        },
    )
    .await;
    assert_eq!(accepted.state.status(), ChatStatus::Active);

    let mid = message_id(chat_id, alice, "c-1");
    let send = ChatCommand {
        subscribers: Vec::new(),
        actor: alice,
        at,
        action: ChatAction::SendMessage {
            message_id: mid,
            client_msg_id: "c-1".into(),
            kind: MessageKind::Text,
            text: Some("hello \u{1F600} \"quoted\" ü".into()),
            media: None,
            reply_to: None,
            forward_of: None,
            existing: None,
            blocked_by_peer: false,
            mentions: Vec::new(),
            named: Vec::new(),
            poll: None,
            location: None,
        },
    };
    let sent = run(&store, &stream, send).await;
    assert_eq!((sent.version, sent.state.last_seq()), (3, 1));

    // The message's own history comes back through the subject index.
    let recs = store.read_subject(&stream, mid).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].event_type, "MessageSent");
    let events: Vec<_> = recs.iter().map(|r| typed::decode(r).unwrap()).collect();
    let facts = MessageFacts::fold(bob, &events).expect("facts of a sent message");
    assert_eq!(
        (facts.seq, facts.sender_id, facts.text.as_deref()),
        (1, alice, Some("hello \u{1F600} \"quoted\" ü"))
    );
}
