//! Given/when/then tests of the chat rules, one file per resource, sharing
//! the fixtures below. Alice, Bob, Carol, Dave and Eve are users 1..=5.

mod channels;
mod direct;
mod group;
mod invites;
mod mentions;
mod message_ops;
mod moderation;
mod polls;
mod reactions_pins;
mod receipts;
mod replies_forwards;
mod roles;
mod send;
mod serde_round_trip;

use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::{Chat, ChatAction, ChatCommand, ChatEvent};
use crate::event::DomainEvent;
use crate::ids;
use crate::message::{MessageFacts, MessageKind};
use crate::testing::{Given, given};

pub(super) const ALICE: Uuid = Uuid::from_u128(1);
pub(super) const BOB: Uuid = Uuid::from_u128(2);
pub(super) const CAROL: Uuid = Uuid::from_u128(3);
pub(super) const DAVE: Uuid = Uuid::from_u128(4);
pub(super) const EVE: Uuid = Uuid::from_u128(5);
pub(super) const GROUP: Uuid = Uuid::from_u128(100);
pub(super) const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

pub(super) fn chat(events: impl IntoIterator<Item = ChatEvent>) -> Given<Chat> {
    given::<Chat>(events)
}

pub(super) fn by(actor: Uuid, action: ChatAction) -> ChatCommand {
    by_at(actor, T0, action)
}

pub(super) fn by_at(actor: Uuid, at: OffsetDateTime, action: ChatAction) -> ChatCommand {
    ChatCommand::new(actor, at, action)
}

/// The direct chat between Alice (requester) and Bob.
pub(super) fn dm() -> Uuid {
    ids::direct_chat_id(ALICE, BOB)
}

pub(super) fn requested() -> ChatEvent {
    ChatEvent::DirectChatRequested {
        chat_id: dm(),
        requester_id: ALICE,
        recipient_id: BOB,
        at: T0,
    }
}

pub(super) fn accepted() -> ChatEvent {
    ChatEvent::ChatRequestAccepted {
        chat_id: dm(),
        requester_id: ALICE,
        recipient_id: BOB,
        at: T0,
    }
}

/// Alice owns a group with Bob and Carol.
pub(super) fn group_created() -> ChatEvent {
    ChatEvent::GroupCreated {
        chat_id: GROUP,
        owner_id: ALICE,
        title: "Hikers".into(),
        description: None,
        member_ids: vec![ALICE, BOB, CAROL],
        at: T0,
    }
}

pub(super) fn client_id(seq: u64) -> String {
    format!("c{seq}")
}

/// A text message `msg-{seq}` with client id `c{seq}`.
pub(super) fn sent(chat_id: Uuid, seq: u64, sender: Uuid) -> ChatEvent {
    ChatEvent::MessageSent {
        chat_id,
        message_id: ids::message_id(chat_id, sender, &client_id(seq)),
        client_msg_id: client_id(seq),
        seq,
        sender_id: sender,
        kind: MessageKind::Text,
        text: Some(format!("msg-{seq}")),
        media: None,
        reply_to: None,
        forward_of: None,
        at: T0,
        mentions: Vec::new(),
        poll: None,
        location: None,
    }
}

/// Facts about the message of `sent_event`, folded from `history` as `actor` sees it.
pub(super) fn facts_of(history: &[ChatEvent], sent_event: &ChatEvent, actor: Uuid) -> MessageFacts {
    let subject = sent_event.subject();
    let about: Vec<ChatEvent> = history
        .iter()
        .filter(|e| e.subject().is_some() && e.subject() == subject)
        .cloned()
        .collect();
    MessageFacts::fold(actor, &about).unwrap_or_else(|| panic!("no MessageSent in {about:?}"))
}

/// Facts straight from one `MessageSent`.
pub(super) fn facts(sent_event: &ChatEvent) -> MessageFacts {
    facts_of(std::slice::from_ref(sent_event), sent_event, Uuid::nil())
}

#[test]
fn members_see_only_messages_sent_after_they_joined() {
    let state = chat([
        group_created(),
        sent(GROUP, 1, ALICE),
        ChatEvent::MembersAdded {
            chat_id: GROUP,
            user_ids: vec![DAVE],
            by: ALICE,
            joined_seq: 1,
            at: T0,
            invite: None,
        },
        sent(GROUP, 2, BOB),
    ]);
    let state = state.state();
    assert!(state.can_see(BOB, 1) && state.can_see(BOB, 2));
    assert!(!state.can_see(DAVE, 1) && state.can_see(DAVE, 2));
    assert!(!state.can_see(EVE, 2) && !state.can_see(BOB, 3) && !state.can_see(BOB, 0));
    assert_eq!(state.read_marker(DAVE), Some(1));
    assert_eq!(state.read_marker(BOB), Some(2));
}

#[test]
fn folding_message_facts_follows_edits_deletes_pins_and_the_actors_reactions() {
    let m = sent(GROUP, 1, ALICE);
    let id = ids::message_id(GROUP, ALICE, "c1");
    let history = vec![
        m.clone(),
        ChatEvent::MessageEdited {
            chat_id: GROUP,
            message_id: id,
            seq: 1,
            editor_id: ALICE,
            text: "edited".into(),
            at: T0,
        },
        ChatEvent::ReactionAdded {
            chat_id: GROUP,
            message_id: id,
            seq: 1,
            user_id: BOB,
            emoji: "👍".into(),
            at: T0,
        },
        ChatEvent::ReactionAdded {
            chat_id: GROUP,
            message_id: id,
            seq: 1,
            user_id: CAROL,
            emoji: "🎉".into(),
            at: T0,
        },
        ChatEvent::MessagePinned {
            chat_id: GROUP,
            message_id: id,
            seq: 1,
            by: ALICE,
            at: T0,
        },
    ];
    let f = facts_of(&history, &m, BOB);
    assert_eq!(f.text.as_deref(), Some("edited"));
    assert_eq!(f.edited_at, Some(T0));
    assert!(f.pinned && !f.deleted);
    assert_eq!(f.reactions_of_actor.iter().collect::<Vec<_>>(), vec!["👍"]);

    let mut deleted = history.clone();
    deleted.push(ChatEvent::MessageDeleted {
        chat_id: GROUP,
        message_id: id,
        seq: 1,
        by: ALICE,
        sender_id: ALICE,
        at: T0,
    });
    let f = facts_of(&deleted, &m, BOB);
    assert!(f.deleted && f.text.is_none());
    assert_eq!(MessageFacts::fold(BOB, &history[1..]), None);
}

#[test]
fn a_chat_that_does_not_exist_refuses_everything_but_creation() {
    chat([])
        .when(by(ALICE, ChatAction::MarkRead { up_to_seq: 0 }))
        .then_error(crate::ErrorKind::NotFound, "chat_not_found");
}
