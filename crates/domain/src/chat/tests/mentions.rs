//! Mentions on send: members only, never the sender, each once, bounded.

use super::send::text;
use super::*;
use crate::error::ErrorKind::Invalid;
use crate::mentions::MAX_MENTIONS;

fn mentions_of(events: Vec<ChatEvent>) -> Vec<Uuid> {
    match events.as_slice() {
        [ChatEvent::MessageSent { mentions, .. }] => mentions.clone(),
        other => panic!("expected one MessageSent, got {other:?}"),
    }
}

#[test]
fn explicit_and_named_members_are_mentioned_once_and_never_the_sender() {
    let mut m = text(GROUP, "c1", "@bob @carol look");
    m.mentions = vec![CAROL, ALICE];
    m.named = vec![BOB, CAROL, ALICE];
    let events = chat([group_created()]).when(m.by(ALICE)).events();
    assert_eq!(mentions_of(events), [CAROL, BOB]);
}

#[test]
fn a_named_non_member_is_just_text_but_an_explicit_one_is_refused() {
    let mut named = text(GROUP, "c1", "@dave hi");
    named.named = vec![DAVE];
    let events = chat([group_created()]).when(named.by(ALICE)).events();
    assert!(mentions_of(events).is_empty());
    let mut explicit = text(GROUP, "c1", "hi");
    explicit.mentions = vec![BOB, DAVE];
    chat([group_created()])
        .when(explicit.by(ALICE))
        .then_error(Invalid, "mention_not_member");
}

#[test]
fn a_former_member_cannot_be_mentioned() {
    let left = ChatEvent::MemberLeft {
        chat_id: GROUP,
        user_id: CAROL,
        at: T0,
    };
    let mut m = text(GROUP, "c1", "hi");
    m.mentions = vec![CAROL];
    chat([group_created(), left])
        .when(m.by(ALICE))
        .then_error(Invalid, "mention_not_member");
}

#[test]
fn more_than_the_most_mentions_is_refused() {
    let many: Vec<Uuid> = (0..=MAX_MENTIONS as u128)
        .map(|n| Uuid::from_u128(1000 + n))
        .collect();
    let added = ChatEvent::MembersAdded {
        chat_id: GROUP,
        user_ids: many.clone(),
        by: ALICE,
        joined_seq: 0,
        at: T0,
        invite: None,
    };
    let mut m = text(GROUP, "c1", "everyone");
    m.mentions = many.clone();
    chat([group_created(), added.clone()])
        .when(m.by(ALICE))
        .then_error(Invalid, "too_many_mentions");
    let mut fits = text(GROUP, "c1", "almost everyone");
    fits.mentions = many[..MAX_MENTIONS].to_vec();
    let events = chat([group_created(), added]).when(fits.by(ALICE)).events();
    assert_eq!(mentions_of(events).len(), MAX_MENTIONS);
}
