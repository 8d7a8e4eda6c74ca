//! Polls and locations: sending them, votes that replace, closing.

use super::message_ops::mid;
use super::send::text;
use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid};
use crate::poll::{Location, PollSpec};

fn poll_spec(multiple: bool, anonymous: bool) -> PollSpec {
    PollSpec {
        question: "Where to?".into(),
        options: vec!["Hills".into(), "Lake".into(), "Coast".into()],
        multiple,
        anonymous,
    }
}

/// Alice's group with Alice's poll as message 1.
fn with_poll(multiple: bool, anonymous: bool) -> (Vec<ChatEvent>, ChatEvent) {
    let mut m = text(GROUP, &client_id(1), "");
    m.kind = MessageKind::Poll;
    m.text = None;
    m.poll = Some(poll_spec(multiple, anonymous));
    let sent = chat([group_created()]).when(m.by(ALICE)).events().remove(0);
    (vec![group_created(), sent.clone()], sent)
}

fn vote(history: &[ChatEvent], sent: &ChatEvent, who: Uuid, options: &[u32]) -> ChatCommand {
    by(
        who,
        ChatAction::Vote {
            message: facts_of(history, sent, who),
            option_ids: options.to_vec(),
        },
    )
}

fn voted(who: Uuid, options: &[u32], anonymous: bool) -> ChatEvent {
    ChatEvent::PollVoted {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, ALICE),
        seq: 1,
        user_id: who,
        option_ids: options.to_vec(),
        anonymous,
        at: T0,
    }
}

#[test]
fn a_poll_is_sent_with_numbered_options_and_no_text() {
    let (_, sent) = with_poll(false, false);
    let ChatEvent::MessageSent {
        kind,
        poll,
        text: body,
        ..
    } = sent
    else {
        panic!("a MessageSent");
    };
    assert_eq!((kind, body), (MessageKind::Poll, None));
    let ids: Vec<u32> = poll.expect("a poll").options.iter().map(|o| o.id).collect();
    assert_eq!(ids, [0, 1, 2]);
    let mut bad = text(GROUP, "c9", "caption");
    bad.kind = MessageKind::Poll;
    bad.poll = Some(poll_spec(false, false));
    chat([group_created()])
        .when(bad.by(ALICE))
        .then_error(Invalid, "media_mismatch");
    let mut missing = text(GROUP, "c9", "");
    missing.text = None;
    missing.kind = MessageKind::Poll;
    chat([group_created()])
        .when(missing.by(ALICE))
        .then_error(Invalid, "invalid_poll");
}

#[test]
fn a_double_vote_is_replaced_not_added_and_the_same_ballot_decides_nothing() {
    let (mut h, sent) = with_poll(false, false);
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[0]))
        .then([voted(BOB, &[0], false)]);
    h.push(voted(BOB, &[0], false));
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[0]))
        .then_nothing();
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[2]))
        .then([voted(BOB, &[2], false)]);
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[0, 2]))
        .then_error(Invalid, "invalid_vote");
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[]))
        .then([voted(BOB, &[], false)]);
}

#[test]
fn multiple_choice_ballots_are_sorted_and_anonymity_rides_in_the_vote() {
    let (h, sent) = with_poll(true, true);
    chat(h.clone())
        .when(vote(&h, &sent, CAROL, &[2, 0]))
        .then([voted(CAROL, &[0, 2], true)]);
    chat(h.clone())
        .when(vote(&h, &sent, CAROL, &[3]))
        .then_error(Invalid, "invalid_vote");
}

#[test]
fn only_the_author_closes_and_a_closed_poll_takes_no_votes() {
    let (mut h, sent) = with_poll(false, false);
    let close = |who| {
        by(
            who,
            ChatAction::ClosePoll {
                message: facts_of(&h, &sent, who),
            },
        )
    };
    chat(h.clone())
        .when(close(BOB))
        .then_error(Forbidden, "not_the_author");
    let closed = ChatEvent::PollClosed {
        chat_id: GROUP,
        message_id: mid(GROUP, 1, ALICE),
        seq: 1,
        by: ALICE,
        at: T0,
    };
    chat(h.clone()).when(close(ALICE)).then([closed.clone()]);
    h.push(closed);
    chat(h.clone())
        .when(vote(&h, &sent, BOB, &[1]))
        .then_error(Conflict, "poll_closed");
}

#[test]
fn polls_and_locations_are_neither_edited_nor_forwarded_and_votes_need_a_poll() {
    let (h, sent) = with_poll(false, false);
    chat(h.clone())
        .when(by(
            ALICE,
            ChatAction::EditMessage {
                message: facts_of(&h, &sent, ALICE),
                text: "changed".into(),
                blocked_by_peer: false,
            },
        ))
        .then_error(Conflict, "message_not_editable");
    let plain = sent_text_history();
    chat(plain.0.clone())
        .when(vote(&plain.0, &plain.1, BOB, &[0]))
        .then_error(Invalid, "not_a_poll");
    let mut fwd = text(GROUP, "c9", "");
    fwd.text = None;
    fwd.forward_of = Some(crate::message::ForwardSource {
        message: facts_of(&h, &sent, BOB),
        visible_to_sender: true,
    });
    chat(h)
        .when(fwd.by(BOB))
        .then_error(Invalid, "not_forwardable");
}

fn sent_text_history() -> (Vec<ChatEvent>, ChatEvent) {
    let m = sent(GROUP, 1, ALICE);
    (vec![group_created(), m.clone()], m)
}

#[test]
fn locations_are_checked_points() {
    let mut m = text(GROUP, "c1", "");
    m.text = None;
    m.kind = MessageKind::Location;
    m.location = Some(Location {
        lat: 46.5,
        lon: 7.9,
        name: Some("Eiger".into()),
    });
    let events = chat([group_created()]).when(m.by(ALICE)).events();
    assert!(matches!(
        events.as_slice(),
        [ChatEvent::MessageSent {
            kind: MessageKind::Location,
            location: Some(_),
            ..
        }]
    ));
    let mut off = text(GROUP, "c2", "");
    off.text = None;
    off.kind = MessageKind::Location;
    off.location = Some(Location {
        lat: 100.0,
        lon: 0.0,
        name: None,
    });
    chat([group_created()])
        .when(off.by(ALICE))
        .then_error(Invalid, "invalid_location");
}
