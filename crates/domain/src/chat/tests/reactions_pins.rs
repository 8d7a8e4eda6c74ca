use super::message_ops::{bobs, deleted, history, mid, pinned, reaction, unpinned};
use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid};
use crate::policy::Policy;

fn react(add: bool, message: MessageFacts, emoji: &str) -> ChatAction {
    let emoji = emoji.to_string();
    if add {
        ChatAction::AddReaction {
            message,
            emoji,
            blocked_by_peer: false,
        }
    } else {
        ChatAction::RemoveReaction { message, emoji }
    }
}

#[test]
fn reacting_adds_and_removes_one_emoji_per_user() {
    chat(history())
        .when(by(ALICE, react(true, bobs(), "👍")))
        .then([reaction(true, "👍")]);
    let h = [history(), vec![reaction(true, "👍")]].concat();
    let mine = facts_of(&h, &sent(GROUP, 1, BOB), ALICE);
    chat(h)
        .when(by(ALICE, react(false, mine, "👍")))
        .then([reaction(false, "👍")]);
}

#[test]
fn reacting_twice_or_removing_an_absent_reaction_decides_nothing() {
    let h = [history(), vec![reaction(true, "👍")]].concat();
    let mine = facts_of(&h, &sent(GROUP, 1, BOB), ALICE);
    chat(h.clone())
        .when(by(ALICE, react(true, mine.clone(), "👍")))
        .then_nothing();
    chat(h)
        .when(by(ALICE, react(false, mine, "🎉")))
        .then_nothing();
}

#[test]
fn reactions_must_be_emoji() {
    for bad in ["", "ok", "👍 👍", &"🎉".repeat(9)] {
        chat(history())
            .when(by(ALICE, react(true, bobs(), bad)))
            .then_error(Invalid, "invalid_emoji");
    }
}

#[test]
fn one_user_has_a_limited_number_of_emoji_per_message() {
    let h = [history(), vec![reaction(true, "👍"), reaction(true, "🎉")]].concat();
    let mine = facts_of(&h, &sent(GROUP, 1, BOB), ALICE);
    chat(h)
        .with_policy(Policy {
            max_reactions_per_user: 2,
            ..Policy::default()
        })
        .when(by(ALICE, react(true, mine, "🔥")))
        .then_error(Conflict, "too_many_reactions");
}

#[test]
fn reacting_to_a_deleted_message_is_a_conflict() {
    let h = [history(), vec![deleted(BOB)]].concat();
    let current = facts_of(&h, &sent(GROUP, 1, BOB), ALICE);
    chat(h)
        .when(by(ALICE, react(true, current, "👍")))
        .then_error(Conflict, "message_deleted");
}

#[test]
fn admins_pin_in_groups_and_members_cannot() {
    chat(history())
        .when(by(
            ALICE,
            ChatAction::PinMessage {
                message: bobs(),
                blocked_by_peer: false,
            },
        ))
        .then([pinned(ALICE)]);
    chat(history())
        .when(by(
            BOB,
            ChatAction::PinMessage {
                message: bobs(),
                blocked_by_peer: false,
            },
        ))
        .then_error(Forbidden, "not_an_admin");
}

#[test]
fn either_side_pins_in_an_accepted_direct_chat_only() {
    let m = sent(dm(), 1, ALICE);
    let events = chat([requested(), accepted(), m.clone()])
        .when(by(
            BOB,
            ChatAction::PinMessage {
                message: facts(&m),
                blocked_by_peer: false,
            },
        ))
        .events();
    assert_eq!(events.len(), 1);
    chat([requested(), m.clone()])
        .when(by(
            ALICE,
            ChatAction::PinMessage {
                message: facts(&m),
                blocked_by_peer: false,
            },
        ))
        .then_error(Conflict, "chat_not_accepted");
}

#[test]
fn pinning_twice_decides_nothing_and_unpinning_an_unpinned_message_too() {
    let h = [history(), vec![pinned(ALICE)]].concat();
    chat(h)
        .when(by(
            ALICE,
            ChatAction::PinMessage {
                message: bobs(),
                blocked_by_peer: false,
            },
        ))
        .then_nothing();
    chat(history())
        .when(by(
            ALICE,
            ChatAction::UnpinMessage {
                message_id: mid(GROUP, 1, BOB),
            },
        ))
        .then_nothing();
}

#[test]
fn a_chat_has_a_limited_number_of_pins() {
    let h = [history(), vec![pinned(ALICE)]].concat();
    chat(h)
        .with_policy(Policy {
            max_pins: 1,
            ..Policy::default()
        })
        .when(by(
            ALICE,
            ChatAction::PinMessage {
                message: facts(&sent(GROUP, 2, CAROL)),
                blocked_by_peer: false,
            },
        ))
        .then_error(Conflict, "too_many_pins");
}

#[test]
fn unpinning_records_the_pinned_seq() {
    let state = chat([history(), vec![pinned(ALICE)]].concat())
        .when(by(
            ALICE,
            ChatAction::UnpinMessage {
                message_id: mid(GROUP, 1, BOB),
            },
        ))
        .then([unpinned(ALICE)]);
    assert!(!state.is_pinned(mid(GROUP, 1, BOB)));
}

#[test]
fn a_peers_block_stops_edits_reactions_and_pins_but_not_taking_them_back() {
    let m = sent(dm(), 1, ALICE);
    let h = vec![requested(), accepted(), m.clone()];
    let edit = ChatAction::EditMessage {
        message: facts(&m),
        text: "changed".into(),
        blocked_by_peer: true,
    };
    let react = ChatAction::AddReaction {
        message: facts(&m),
        emoji: "👍".into(),
        blocked_by_peer: true,
    };
    let pin = ChatAction::PinMessage {
        message: facts(&m),
        blocked_by_peer: true,
    };
    for action in [edit, react, pin] {
        chat(h.clone())
            .when(by(ALICE, action))
            .then_error(Forbidden, "blocked");
    }
    chat(h)
        .when(by(
            ALICE,
            ChatAction::RemoveReaction {
                message: facts(&m),
                emoji: "👍".into(),
            },
        ))
        .then_nothing();
}
