use super::send::{group_with_messages, text};
use super::*;
use crate::error::ErrorKind::{Conflict, Invalid, NotFound};
use crate::message::{ForwardRef, ForwardSource, ReplyRef};

#[test]
fn replying_records_the_target() {
    let target = sent(GROUP, 1, BOB);
    let mut reply = text(GROUP, "c3", "re");
    reply.reply_to = Some(facts(&target));
    let events = chat(group_with_messages()).when(reply.by(ALICE)).events();
    let expected = ReplyRef {
        message_id: ids::message_id(GROUP, BOB, "c1"),
        seq: 1,
        sender_id: BOB,
    };
    assert!(matches!(
        events.as_slice(),
        [ChatEvent::MessageSent { reply_to: Some(r), seq: 3, .. }] if *r == expected
    ));
}

#[test]
fn replying_to_a_message_of_another_chat_is_not_found() {
    let elsewhere = sent(dm(), 1, BOB);
    let mut reply = text(GROUP, "c3", "re");
    reply.reply_to = Some(facts(&elsewhere));
    chat(group_with_messages())
        .when(reply.by(ALICE))
        .then_error(NotFound, "message_not_found");
}

#[test]
fn a_late_joiner_cannot_reply_to_messages_from_before_they_joined() {
    let mut history = group_with_messages();
    history.push(ChatEvent::MembersAdded {
        chat_id: GROUP,
        user_ids: vec![DAVE],
        by: ALICE,
        joined_seq: 2,
        at: T0,
        invite: None,
    });
    let mut reply = text(GROUP, "d1", "re");
    reply.reply_to = Some(facts(&sent(GROUP, 1, BOB)));
    chat(history)
        .when(reply.by(DAVE))
        .then_error(NotFound, "message_not_found");
}

#[test]
fn replying_to_a_deleted_message_is_a_conflict() {
    let mut target = facts(&sent(GROUP, 1, BOB));
    target.deleted = true;
    let mut reply = text(GROUP, "c3", "re");
    reply.reply_to = Some(target);
    chat(group_with_messages())
        .when(reply.by(ALICE))
        .then_error(Conflict, "message_deleted");
}

fn source(visible: bool) -> ForwardSource {
    let mut message = facts(&sent(dm(), 4, BOB));
    message.text = Some("forward me".into());
    ForwardSource {
        message,
        visible_to_sender: visible,
    }
}

#[test]
fn forwarding_copies_the_source_and_records_its_origin() {
    let mut fwd = text(GROUP, "c3", "");
    fwd.text = None;
    fwd.forward_of = Some(source(true));
    let events = chat(group_with_messages()).when(fwd.by(ALICE)).events();
    let origin = ForwardRef {
        chat_id: dm(),
        message_id: ids::message_id(dm(), BOB, "c4"),
        original_sender_id: BOB,
        original_sent_at: T0,
    };
    assert!(matches!(
        events.as_slice(),
        [ChatEvent::MessageSent { text: Some(t), forward_of: Some(f), sender_id, .. }]
            if t == "forward me" && *f == origin && *sender_id == ALICE
    ));
}

#[test]
fn a_forward_cannot_carry_its_own_text() {
    let mut fwd = text(GROUP, "c3", "mine");
    fwd.forward_of = Some(source(true));
    chat(group_with_messages())
        .when(fwd.by(ALICE))
        .then_error(Invalid, "forward_with_content");
}

#[test]
fn forwarding_a_message_the_sender_cannot_see_is_not_found() {
    let mut fwd = text(GROUP, "c3", "");
    fwd.text = None;
    fwd.forward_of = Some(source(false));
    chat(group_with_messages())
        .when(fwd.by(ALICE))
        .then_error(NotFound, "message_not_found");
}

#[test]
fn forwarding_a_deleted_message_is_a_conflict() {
    let mut src = source(true);
    src.message.deleted = true;
    let mut fwd = text(GROUP, "c3", "");
    fwd.text = None;
    fwd.forward_of = Some(src);
    chat(group_with_messages())
        .when(fwd.by(ALICE))
        .then_error(Conflict, "message_deleted");
}
