//! Receipts: read and delivery markers. Both move forward only, reading
//! implies delivery, and only current participants move them.

use super::message_ops::history;
use super::*;
use crate::error::ErrorKind::{Invalid, NotFound};

fn delivered(user: Uuid, up_to_seq: u64) -> ChatEvent {
    ChatEvent::DeliveryMarkerMoved {
        chat_id: GROUP,
        user_id: user,
        up_to_seq,
        at: T0,
    }
}

fn read(user: Uuid, up_to_seq: u64) -> ChatEvent {
    ChatEvent::ReadMarkerMoved {
        chat_id: GROUP,
        user_id: user,
        up_to_seq,
        at: T0,
    }
}

#[test]
fn reading_moves_the_marker_forward_only() {
    let state = chat(history())
        .when(by(ALICE, ChatAction::MarkRead { up_to_seq: 2 }))
        .then([ChatEvent::ReadMarkerMoved {
            chat_id: GROUP,
            user_id: ALICE,
            up_to_seq: 2,
            at: T0,
        }]);
    assert_eq!(state.read_marker(ALICE), Some(2));
    // Carol's own message 2 already moved her marker.
    chat(history())
        .when(by(CAROL, ChatAction::MarkRead { up_to_seq: 1 }))
        .then_nothing();
}

#[test]
fn reading_beyond_the_last_message_is_invalid() {
    chat(history())
        .when(by(ALICE, ChatAction::MarkRead { up_to_seq: 3 }))
        .then_error(Invalid, "seq_out_of_range");
}

#[test]
fn outsiders_cannot_mark_read() {
    chat(history())
        .when(by(DAVE, ChatAction::MarkRead { up_to_seq: 1 }))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn delivery_moves_the_marker_forward_only() {
    let state = chat(history())
        .when(by(ALICE, ChatAction::MarkDelivered { up_to_seq: 1 }))
        .then([delivered(ALICE, 1)]);
    assert_eq!(state.member(ALICE).map(|m| m.delivered()), Some(1));
    let mut h = history();
    h.push(delivered(ALICE, 2));
    chat(h.clone())
        .when(by(ALICE, ChatAction::MarkDelivered { up_to_seq: 1 }))
        .then_nothing();
    chat(h)
        .when(by(ALICE, ChatAction::MarkDelivered { up_to_seq: 2 }))
        .then_nothing();
}

#[test]
fn reading_implies_delivery() {
    let mut h = history();
    h.push(read(ALICE, 2));
    chat(h)
        .when(by(ALICE, ChatAction::MarkDelivered { up_to_seq: 2 }))
        .then_nothing();
    // One's own message is delivered to oneself.
    chat(history())
        .when(by(CAROL, ChatAction::MarkDelivered { up_to_seq: 2 }))
        .then_nothing();
}

#[test]
fn delivery_then_read_moves_both_markers_in_order() {
    let mut h = history();
    h.push(delivered(ALICE, 2));
    let state = chat(h)
        .when(by(ALICE, ChatAction::MarkRead { up_to_seq: 1 }))
        .then([read(ALICE, 1)]);
    let me = state.member(ALICE).cloned().expect("a member");
    assert_eq!((me.read_up_to, me.delivered()), (1, 2));
}

#[test]
fn delivery_beyond_the_last_message_is_invalid_and_outsiders_are_refused() {
    chat(history())
        .when(by(ALICE, ChatAction::MarkDelivered { up_to_seq: 3 }))
        .then_error(Invalid, "seq_out_of_range");
    chat(history())
        .when(by(DAVE, ChatAction::MarkDelivered { up_to_seq: 1 }))
        .then_error(NotFound, "chat_not_found");
}
