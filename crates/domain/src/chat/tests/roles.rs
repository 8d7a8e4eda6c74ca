use super::group::{added, left, promoted};
use super::*;
use crate::chat::ChatStatus;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};

#[test]
fn admins_promote_and_demote_members() {
    let state = chat([group_created()])
        .when(by(ALICE, ChatAction::PromoteAdmin { user_id: BOB }))
        .then([promoted(BOB, Some(ALICE))]);
    assert!(state.is_admin(BOB));
    chat([group_created(), promoted(BOB, Some(ALICE))])
        .when(by(BOB, ChatAction::DemoteAdmin { user_id: BOB }))
        .then([ChatEvent::AdminDemoted {
            chat_id: GROUP,
            user_id: BOB,
            by: BOB,
            at: T0,
        }]);
}

#[test]
fn promoting_an_admin_or_demoting_a_member_decides_nothing() {
    chat([group_created(), promoted(BOB, Some(ALICE))])
        .when(by(ALICE, ChatAction::PromoteAdmin { user_id: BOB }))
        .then_nothing();
    chat([group_created()])
        .when(by(ALICE, ChatAction::DemoteAdmin { user_id: CAROL }))
        .then_nothing();
}

#[test]
fn promoting_a_non_member_is_not_found() {
    chat([group_created()])
        .when(by(ALICE, ChatAction::PromoteAdmin { user_id: DAVE }))
        .then_error(NotFound, "not_a_member");
}

#[test]
fn demoting_the_owner_is_forbidden() {
    chat([group_created(), promoted(BOB, Some(ALICE))])
        .when(by(BOB, ChatAction::DemoteAdmin { user_id: ALICE }))
        .then_error(Forbidden, "cannot_demote_owner");
}

#[test]
fn members_cannot_promote() {
    chat([group_created()])
        .when(by(BOB, ChatAction::PromoteAdmin { user_id: BOB }))
        .then_error(Forbidden, "not_an_admin");
}

#[test]
fn a_member_leaving_just_leaves() {
    chat([group_created()])
        .when(by(CAROL, ChatAction::Leave))
        .then([left(CAROL)]);
}

#[test]
fn the_owner_leaving_as_last_admin_promotes_and_hands_over_to_the_longest_standing_member() {
    let state = chat([group_created(), added(vec![DAVE], 0)])
        .when(by(ALICE, ChatAction::Leave))
        .then([
            left(ALICE),
            promoted(BOB, None),
            ChatEvent::OwnershipTransferred {
                chat_id: GROUP,
                previous_owner_id: ALICE,
                new_owner_id: BOB,
                at: T0,
            },
        ]);
    assert_eq!(state.owner(), Some(BOB));
    assert!(state.is_admin(BOB));
}

#[test]
fn the_owner_leaving_hands_over_to_the_longest_standing_admin() {
    chat([group_created(), promoted(CAROL, Some(ALICE))])
        .when(by(ALICE, ChatAction::Leave))
        .then([
            left(ALICE),
            ChatEvent::OwnershipTransferred {
                chat_id: GROUP,
                previous_owner_id: ALICE,
                new_owner_id: CAROL,
                at: T0,
            },
        ]);
}

#[test]
fn the_last_member_leaving_closes_the_group() {
    let state = chat([group_created(), left(BOB), left(CAROL)])
        .when(by(ALICE, ChatAction::Leave))
        .then([
            left(ALICE),
            ChatEvent::GroupClosed {
                chat_id: GROUP,
                at: T0,
            },
        ]);
    assert_eq!(state.status(), ChatStatus::Closed);
}

#[test]
fn a_closed_group_refuses_every_command() {
    let closed = [
        group_created(),
        left(BOB),
        left(CAROL),
        left(ALICE),
        ChatEvent::GroupClosed {
            chat_id: GROUP,
            at: T0,
        },
    ];
    for action in [
        ChatAction::AddMembers {
            user_ids: vec![BOB],
            invitees: Vec::new(),
        },
        ChatAction::Leave,
        ChatAction::MarkRead { up_to_seq: 0 },
    ] {
        chat(closed.clone())
            .when(by(ALICE, action))
            .then_error(Conflict, "chat_closed");
    }
}

#[test]
fn group_commands_in_a_direct_chat_are_invalid() {
    for action in [
        ChatAction::Leave,
        ChatAction::AddMembers {
            user_ids: vec![CAROL],
            invitees: Vec::new(),
        },
    ] {
        chat([requested()])
            .when(by(ALICE, action))
            .then_error(Invalid, "not_a_group");
    }
}
