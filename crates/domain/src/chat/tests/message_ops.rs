use time::Duration;

use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};

pub(super) fn mid(chat_id: Uuid, seq: u64, sender: Uuid) -> Uuid {
    ids::message_id(chat_id, sender, &client_id(seq))
}

/// Group with Bob's message 1 and Carol's message 2.
pub(super) fn history() -> Vec<ChatEvent> {
    vec![group_created(), sent(GROUP, 1, BOB), sent(GROUP, 2, CAROL)]
}

pub(super) fn bobs() -> MessageFacts {
    facts(&sent(GROUP, 1, BOB))
}

fn edit(message: MessageFacts, text: &str) -> ChatAction {
    ChatAction::EditMessage {
        message,
        text: text.into(),
        blocked_by_peer: false,
    }
}

fn edited(text: &str) -> ChatEvent {
    ChatEvent::MessageEdited {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, BOB),
        seq: 1,
        editor_id: BOB,
        text: text.into(),
        at: T0,
    }
}

pub(super) fn deleted(by: Uuid) -> ChatEvent {
    ChatEvent::MessageDeleted {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, BOB),
        seq: 1,
        by,
        sender_id: BOB,
        at: T0,
    }
}

pub(super) fn pinned(by: Uuid) -> ChatEvent {
    ChatEvent::MessagePinned {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, BOB),
        seq: 1,
        by,
        at: T0,
    }
}

pub(super) fn unpinned(by: Uuid) -> ChatEvent {
    ChatEvent::MessageUnpinned {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, BOB),
        seq: 1,
        by,
        at: T0,
    }
}

pub(super) fn reaction(add: bool, emoji: &str) -> ChatEvent {
    let (chat_id, message_id, seq, user_id, emoji, at) =
        (GROUP, mid(GROUP, 1, BOB), 1, ALICE, emoji.to_string(), T0);
    if add {
        ChatEvent::ReactionAdded {
            chat_id,
            message_id,
            seq,
            user_id,
            emoji,
            at,
        }
    } else {
        ChatEvent::ReactionRemoved {
            chat_id,
            message_id,
            seq,
            user_id,
            emoji,
            at,
        }
    }
}

#[test]
fn the_author_edits_within_the_window() {
    let at = T0 + Duration::minutes(15);
    chat(history())
        .when(by_at(BOB, at, edit(bobs(), "fixed")))
        .then([ChatEvent::MessageEdited {
            chat_id: GROUP,
            message_id: mid(GROUP, 1, BOB),
            seq: 1,
            editor_id: BOB,
            text: "fixed".into(),
            at,
        }]);
}

#[test]
fn editing_after_the_window_is_a_conflict() {
    let at = T0 + Duration::minutes(15) + Duration::seconds(1);
    chat(history())
        .when(by_at(BOB, at, edit(bobs(), "late")))
        .then_error(Conflict, "edit_window_over");
}

#[test]
fn only_the_author_edits() {
    chat(history())
        .when(by(ALICE, edit(bobs(), "mine now")))
        .then_error(Forbidden, "not_the_author");
}

#[test]
fn editing_to_the_same_text_decides_nothing() {
    let h = [history(), vec![edited("v2")]].concat();
    let current = facts_of(&h, &sent(GROUP, 1, BOB), BOB);
    chat(h).when(by(BOB, edit(current, "v2"))).then_nothing();
}

#[test]
fn editing_a_deleted_message_is_a_conflict() {
    let h = [history(), vec![deleted(BOB)]].concat();
    let current = facts_of(&h, &sent(GROUP, 1, BOB), BOB);
    chat(h)
        .when(by(BOB, edit(current, "x")))
        .then_error(Conflict, "message_deleted");
}

#[test]
fn edits_follow_the_text_rules() {
    chat(history())
        .when(by(BOB, edit(bobs(), "  ")))
        .then_error(Invalid, "text_required");
}

#[test]
fn a_message_of_another_chat_is_not_found() {
    let elsewhere = facts(&sent(dm(), 1, BOB));
    chat(history())
        .when(by(BOB, edit(elsewhere, "x")))
        .then_error(NotFound, "message_not_found");
}

#[test]
fn the_author_deletes_for_everyone() {
    chat(history())
        .when(by(BOB, ChatAction::DeleteForEveryone { message: bobs() }))
        .then([deleted(BOB)]);
}

#[test]
fn a_group_admin_deletes_anyones_message() {
    chat(history())
        .when(by(ALICE, ChatAction::DeleteForEveryone { message: bobs() }))
        .then([deleted(ALICE)]);
}

#[test]
fn members_and_direct_peers_cannot_delete_others_messages() {
    chat(history())
        .when(by(CAROL, ChatAction::DeleteForEveryone { message: bobs() }))
        .then_error(Forbidden, "not_the_author");
    let dm_msg = sent(dm(), 1, BOB);
    chat([requested(), accepted(), dm_msg.clone()])
        .when(by(
            ALICE,
            ChatAction::DeleteForEveryone {
                message: facts(&dm_msg),
            },
        ))
        .then_error(Forbidden, "not_the_author");
}

#[test]
fn deleting_a_deleted_message_decides_nothing() {
    let h = [history(), vec![deleted(BOB)]].concat();
    let current = facts_of(&h, &sent(GROUP, 1, BOB), BOB);
    chat(h)
        .when(by(BOB, ChatAction::DeleteForEveryone { message: current }))
        .then_nothing();
}

#[test]
fn deleting_a_pinned_message_unpins_it() {
    let state = chat([history(), vec![pinned(ALICE)]].concat())
        .when(by(BOB, ChatAction::DeleteForEveryone { message: bobs() }))
        .then([deleted(BOB), unpinned(BOB)]);
    assert!(state.pinned.is_empty());
}
