//! Moderators, ownership and bans.

use time::Duration;

use super::message_ops::{history, mid};
use super::*;
use crate::chat::Role;
use crate::error::ErrorKind::{Forbidden, Invalid};

fn role(user_id: Uuid, role: Role) -> ChatEvent {
    ChatEvent::MemberRoleChanged {
        chat_id: GROUP,
        user_id,
        role,
        by: ALICE,
        at: T0,
    }
}

fn banned(user_id: Uuid, by: Uuid, until: Option<OffsetDateTime>) -> ChatEvent {
    ChatEvent::MemberBanned {
        chat_id: GROUP,
        user_id,
        by,
        until,
        reason: None,
        at: T0,
    }
}

fn ban(user_id: Uuid, until: Option<OffsetDateTime>) -> ChatAction {
    ChatAction::Ban {
        user_id,
        until,
        reason: None,
    }
}

#[test]
fn admins_set_roles_but_never_the_owners() {
    let state = chat([group_created()])
        .when(by(
            ALICE,
            ChatAction::SetRole {
                user_id: BOB,
                role: Role::Moderator,
            },
        ))
        .then([role(BOB, Role::Moderator)]);
    assert!(state.moderates(BOB) && !state.is_admin(BOB));
    chat([group_created(), role(BOB, Role::Moderator)])
        .when(by(
            BOB,
            ChatAction::SetRole {
                user_id: CAROL,
                role: Role::Moderator,
            },
        ))
        .then_error(Forbidden, "not_an_admin");
    chat([group_created(), role(BOB, Role::Admin)])
        .when(by(
            BOB,
            ChatAction::SetRole {
                user_id: ALICE,
                role: Role::Member,
            },
        ))
        .then_error(Forbidden, "cannot_demote_owner");
}

#[test]
fn the_owner_hands_over_and_the_heir_becomes_an_admin() {
    let state = chat([group_created()])
        .when(by(ALICE, ChatAction::TransferOwnership { user_id: CAROL }))
        .then([
            role(CAROL, Role::Admin),
            ChatEvent::OwnershipTransferred {
                chat_id: GROUP,
                previous_owner_id: ALICE,
                new_owner_id: CAROL,
                at: T0,
            },
        ]);
    assert_eq!(state.owner(), Some(CAROL));
    assert!(state.is_admin(ALICE), "the former owner stays an admin");
    chat([group_created(), role(BOB, Role::Admin)])
        .when(by(BOB, ChatAction::TransferOwnership { user_id: CAROL }))
        .then_error(Forbidden, "not_the_owner");
}

#[test]
fn moderators_delete_others_messages_and_ban_plain_members_only() {
    let mut h = history();
    h.push(role(BOB, Role::Moderator));
    let carols = facts_of(&h, &sent(GROUP, 2, CAROL), BOB);
    chat(h.clone())
        .when(by(BOB, ChatAction::DeleteForEveryone { message: carols }))
        .then([ChatEvent::MessageDeleted {
            chat_id: GROUP,
            message_id: mid(GROUP, 2, CAROL),
            seq: 2,
            by: BOB,
            sender_id: CAROL,
            at: T0,
        }]);
    chat(h.clone()).when(by(BOB, ban(CAROL, None))).then([
        ChatEvent::MemberRemoved {
            chat_id: GROUP,
            user_id: CAROL,
            by: BOB,
            at: T0,
        },
        banned(CAROL, BOB, None),
    ]);
    chat(h.clone())
        .when(by(BOB, ban(ALICE, None)))
        .then_error(Forbidden, "not_a_moderator");
    chat(history())
        .when(by(CAROL, ban(BOB, None)))
        .then_error(Forbidden, "not_a_moderator");
    chat(history())
        .when(by(ALICE, ban(ALICE, None)))
        .then_error(Invalid, "cannot_ban_self");
}

#[test]
fn a_ban_keeps_the_user_out_until_it_ends_or_is_lifted() {
    let until = T0 + Duration::hours(1);
    let h = vec![group_created(), banned(DAVE, ALICE, Some(until))];
    let add = ChatAction::AddMembers {
        user_ids: vec![DAVE],
        invitees: Vec::new(),
    };
    chat(h.clone())
        .when(by(ALICE, add.clone()))
        .then_error(Forbidden, "user_banned");
    chat(h.clone())
        .when(by_at(ALICE, until, add.clone()))
        .then([ChatEvent::MembersAdded {
            chat_id: GROUP,
            user_ids: vec![DAVE],
            by: ALICE,
            joined_seq: 0,
            at: until,
            invite: None,
        }]);
    let lifted = chat(h.clone())
        .when(by(ALICE, ChatAction::Unban { user_id: DAVE }))
        .then([ChatEvent::MemberUnbanned {
            chat_id: GROUP,
            user_id: DAVE,
            by: ALICE,
            at: T0,
        }]);
    assert!(!lifted.is_banned(DAVE, T0));
    chat(h.clone())
        .when(by(ALICE, ban(DAVE, Some(until))))
        .then_nothing();
    chat([group_created()])
        .when(by(ALICE, ban(DAVE, Some(T0))))
        .then_error(Invalid, "ban_until_in_past");
}
