//! Histories from real domain commands: load → decide → append, per stream,
//! with a clock that ticks one second per command.

use std::sync::Mutex;

use chat_domain::{
    Aggregate, Chat, ChatAction, ChatCommand, ChatEvent, MediaRef, MessageFacts, MessageKind,
    Policy, User, UserAction, UserCommand, chat_stream, direct_chat_id, message_id, user_stream,
};
use chat_store::postgres::PgEventStore;
use chat_store::typed::{self, Loaded};
use chat_store::{EventStore, ExpectedVersion, Metadata};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

pub const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

pub struct History {
    store: PgEventStore,
    clock: Mutex<OffsetDateTime>,
}

impl History {
    pub fn new(store: PgEventStore) -> Self {
        Self {
            store,
            clock: Mutex::new(T0),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        *self.clock.lock().unwrap()
    }

    fn tick(&self) -> OffsetDateTime {
        let mut c = self.clock.lock().unwrap();
        *c += time::Duration::seconds(1);
        *c
    }

    /// Decide `cmd` on the stream's current state and append the result;
    /// the global position of the last event (or the head if none).
    async fn run<A: Aggregate>(&self, stream: &str, actor: Uuid, cmd: &A::Command) -> u64 {
        let loaded: Loaded<A> = typed::load(&self.store, stream).await.unwrap();
        let events = loaded.state.decide(cmd, &Policy::default()).unwrap();
        if events.is_empty() {
            return self.store.head_position().await.unwrap();
        }
        let meta = Metadata {
            actor: Some(actor),
            ..Metadata::default()
        };
        let new = events
            .iter()
            .map(|e| typed::encode(e, &meta, self.now()).unwrap())
            .collect();
        self.store
            .append(stream, ExpectedVersion::Exact(loaded.version), new)
            .await
            .unwrap()
            .last_position
    }

    pub async fn chat(&self, chat_id: Uuid, actor: Uuid, action: ChatAction) -> u64 {
        let cmd = ChatCommand {
            subscribers: Vec::new(),
            actor,
            at: self.tick(),
            action,
        };
        self.run::<Chat>(&chat_stream(chat_id), actor, &cmd).await
    }

    pub async fn user(&self, user_id: Uuid, action: UserAction) -> u64 {
        let cmd = UserCommand {
            actor: user_id,
            at: self.tick(),
            action,
        };
        self.run::<User>(&user_stream(user_id), user_id, &cmd).await
    }

    pub async fn chat_state(&self, chat_id: Uuid) -> Chat {
        typed::load::<Chat>(&self.store, &chat_stream(chat_id))
            .await
            .unwrap()
            .state
    }

    pub async fn register(&self, username: &str) -> Uuid {
        let id = Uuid::now_v7();
        let action = UserAction::Register {
            username: username.into(),
            display_name: None,
        };
        self.user(id, action).await;
        id
    }

    pub async fn start_direct(&self, from: Uuid, to: Uuid) -> Uuid {
        let chat_id = direct_chat_id(from, to);
        let action = ChatAction::StartDirect {
            chat_id,
            recipient: to,
            recipient_blocked_requester: false,
            requester_blocked_recipient: false,
            recipient_accepts_requests: true,
        };
        self.chat(chat_id, from, action).await;
        chat_id
    }

    pub async fn create_group(&self, owner: Uuid, others: &[Uuid], title: &str) -> Uuid {
        let chat_id = Uuid::now_v7();
        let action = ChatAction::CreateGroup {
            chat_id,
            title: title.into(),
            description: None,
            member_ids: others.to_vec(),
            invitees: Vec::new(),
        };
        self.chat(chat_id, owner, action).await;
        chat_id
    }

    /// Send a text (or, with `media`, a media message); its id.
    pub async fn send_with(
        &self,
        chat_id: Uuid,
        sender: Uuid,
        client_id: &str,
        kind: MessageKind,
        text: Option<&str>,
    ) -> Uuid {
        let mid = message_id(chat_id, sender, client_id);
        let media = (kind != MessageKind::Text).then(|| MediaRef {
            media_id: Uuid::now_v7(),
            owner_id: sender,
            kind,
            mime: "image/png".into(),
            size: 1234,
            width: Some(10),
            height: Some(10),
            duration_ms: None,
            sha256: "00".repeat(32),
        });
        let action = ChatAction::SendMessage {
            message_id: mid,
            client_msg_id: client_id.into(),
            kind,
            text: text.map(str::to_owned),
            media,
            reply_to: None,
            forward_of: None,
            existing: None,
            blocked_by_peer: false,
            mentions: Vec::new(),
            named: Vec::new(),
            poll: None,
            location: None,
        };
        self.chat(chat_id, sender, action).await;
        mid
    }

    pub async fn send(&self, chat_id: Uuid, sender: Uuid, client_id: &str, text: &str) -> Uuid {
        self.send_with(chat_id, sender, client_id, MessageKind::Text, Some(text))
            .await
    }

    /// The facts of one message as `actor` sees them (subject index).
    pub async fn facts(&self, chat_id: Uuid, mid: Uuid, actor: Uuid) -> MessageFacts {
        let recs = self
            .store
            .read_subject(&chat_stream(chat_id), mid)
            .await
            .unwrap();
        let events: Vec<ChatEvent> = recs.iter().map(|r| typed::decode(r).unwrap()).collect();
        MessageFacts::fold(actor, &events).unwrap()
    }

    pub async fn on_message(
        &self,
        chat_id: Uuid,
        mid: Uuid,
        actor: Uuid,
        make: impl FnOnce(MessageFacts) -> ChatAction,
    ) -> u64 {
        let facts = self.facts(chat_id, mid, actor).await;
        self.chat(chat_id, actor, make(facts)).await
    }

    pub async fn last_seq(&self, chat_id: Uuid) -> u64 {
        self.chat_state(chat_id).await.last_seq()
    }
}
