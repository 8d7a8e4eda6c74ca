//! Channels: admins post, subscribers read, react and mark read; a
//! subscriber's record rides in with the command; no cap, no adds.

use super::send::text;
use super::*;
use crate::chat::SubscriberFacts;
use crate::error::ErrorKind::{Conflict, Forbidden, NotFound};

fn created(public: bool) -> ChatEvent {
    ChatEvent::ChannelCreated {
        chat_id: GROUP,
        owner_id: ALICE,
        title: "News".into(),
        description: None,
        public,
        at: T0,
    }
}

fn subscribed(user: Uuid, last_seq: u64) -> ChatEvent {
    ChatEvent::ChannelSubscribed {
        chat_id: GROUP,
        user_id: user,
        last_seq,
        at: T0,
        invite: None,
    }
}

/// `cmd` with the records of `users` folded from `history`, as the command
/// side does.
fn with_facts(mut cmd: ChatCommand, history: &[ChatEvent], users: &[Uuid]) -> ChatCommand {
    cmd.subscribers = users
        .iter()
        .map(|u| SubscriberFacts::fold(*u, history))
        .collect();
    cmd
}

#[test]
fn anyone_creates_a_channel_and_owns_it() {
    let state = chat([])
        .when(by(
            ALICE,
            ChatAction::CreateChannel {
                chat_id: GROUP,
                title: " News ".into(),
                description: None,
                public: true,
            },
        ))
        .then([created(true)]);
    assert!(state.is_channel() && state.is_admin(ALICE));
    assert_eq!(state.subscribers, 1);
}

#[test]
fn a_public_channel_is_subscribed_to_directly_and_a_private_one_needs_a_link() {
    let state = chat([created(true)])
        .when(by(BOB, ChatAction::Subscribe))
        .then([subscribed(BOB, 0)]);
    // The state counts subscribers without keeping them.
    assert_eq!(state.subscribers, 2);
    assert!(!state.members.contains_key(&BOB));
    chat([created(false)])
        .when(by(BOB, ChatAction::Subscribe))
        .then_error(NotFound, "chat_not_found");
    // Subscribed already: nothing to do.
    let history = [created(true), subscribed(BOB, 0)];
    chat(history.clone())
        .when(with_facts(by(BOB, ChatAction::Subscribe), &history, &[BOB]))
        .then_nothing();
}

#[test]
fn only_admins_post_and_subscribers_read_with_their_own_record() {
    let history = [created(true), subscribed(BOB, 0)];
    chat(history.clone())
        .when(with_facts(
            text(GROUP, "c1", "hello").by(BOB),
            &history,
            &[BOB],
        ))
        .then_error(Forbidden, "not_an_admin");
    let mut history = history.to_vec();
    history.extend(
        chat(history.clone())
            .when(text(GROUP, "c1", "news").by(ALICE))
            .events(),
    );
    let read = with_facts(
        by(BOB, ChatAction::MarkRead { up_to_seq: 1 }),
        &history,
        &[BOB],
    );
    chat(history.clone())
        .when(read.clone())
        .then([ChatEvent::ReadMarkerMoved {
            chat_id: GROUP,
            user_id: BOB,
            up_to_seq: 1,
            at: T0,
        }]);
    // Without their record the command side would not know them at all.
    chat(history.clone())
        .when(by(BOB, ChatAction::MarkRead { up_to_seq: 1 }))
        .then_error(NotFound, "chat_not_found");
    // A marker never moves back: the record carries it.
    history.push(ChatEvent::ReadMarkerMoved {
        chat_id: GROUP,
        user_id: BOB,
        up_to_seq: 1,
        at: T0,
    });
    chat(history.clone())
        .when(with_facts(
            by(BOB, ChatAction::MarkRead { up_to_seq: 1 }),
            &history,
            &[BOB],
        ))
        .then_nothing();
}

#[test]
fn nobody_is_added_to_a_channel_and_its_owner_hands_it_over_before_leaving() {
    chat([created(true)])
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![BOB],
                invitees: Vec::new(),
            },
        ))
        .then_error(Conflict, "channel_join_only");
    chat([created(true)])
        .when(by(ALICE, ChatAction::Leave))
        .then_error(Conflict, "owner_cannot_leave");
    let history = [created(true), subscribed(BOB, 0)];
    let state = chat(history.clone())
        .when(with_facts(by(BOB, ChatAction::Leave), &history, &[BOB]))
        .then([ChatEvent::ChannelUnsubscribed {
            chat_id: GROUP,
            user_id: BOB,
            at: T0,
        }]);
    assert_eq!(state.subscribers, 1);
}

#[test]
fn a_banned_subscriber_is_removed_and_cannot_come_back() {
    let history = [created(true), subscribed(BOB, 0)];
    let ban = with_facts(
        by(
            ALICE,
            ChatAction::Ban {
                user_id: BOB,
                until: None,
                reason: None,
            },
        ),
        &history,
        &[ALICE, BOB],
    );
    let events = chat(history.clone()).when(ban).events();
    assert_eq!(
        events.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
        ["MemberRemoved", "MemberBanned"]
    );
    let mut after = history.to_vec();
    after.extend(events);
    let state = chat(after.clone()).state().clone();
    assert_eq!(state.subscribers, 1);
    assert_eq!(SubscriberFacts::fold(BOB, &after).member, None);
    chat(after)
        .when(by(BOB, ChatAction::Subscribe))
        .then_error(Forbidden, "user_banned");
}

#[test]
fn a_promoted_subscriber_is_kept_as_an_admin_and_posts() {
    let history = [created(true), subscribed(BOB, 0)];
    let promote = with_facts(
        by(
            ALICE,
            ChatAction::SetRole {
                user_id: BOB,
                role: crate::chat::Role::Admin,
            },
        ),
        &history,
        &[ALICE, BOB],
    );
    let mut after = history.to_vec();
    after.extend(chat(history.clone()).when(promote).events());
    let state = chat(after.clone()).state().clone();
    assert!(state.is_admin(BOB));
    assert_eq!(state.subscribers, 2);
    chat(after)
        .when(text(GROUP, "b1", "from Bob").by(BOB))
        .events();
}
