//! Invite links: made by admins, joined exactly as often as allowed,
//! refused to the banned and past the cap, revoked.

use time::Duration;

use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};

const CODE: &str = "c0de";

fn made(max_uses: Option<u32>, expires_at: Option<OffsetDateTime>) -> ChatEvent {
    ChatEvent::InviteCreated {
        chat_id: GROUP,
        code_hash: CODE.into(),
        by: ALICE,
        max_uses,
        expires_at,
        at: T0,
    }
}

fn join() -> ChatAction {
    ChatAction::JoinByInvite {
        code_hash: CODE.into(),
    }
}

fn joined(user: Uuid) -> ChatEvent {
    ChatEvent::MembersAdded {
        chat_id: GROUP,
        user_ids: vec![user],
        by: user,
        joined_seq: 0,
        at: T0,
        invite: Some(CODE.into()),
    }
}

#[test]
fn admins_make_invites_that_count_their_uses() {
    let create = ChatAction::CreateInvite {
        code_hash: CODE.into(),
        max_uses: Some(1),
        expires_at: None,
    };
    chat([group_created()])
        .when(by(BOB, create.clone()))
        .then_error(Forbidden, "not_an_admin");
    chat([group_created()])
        .when(by(ALICE, create))
        .then([made(Some(1), None)]);
    let state = chat([group_created(), made(Some(1), None)])
        .when(by(DAVE, join()))
        .then([joined(DAVE)]);
    assert_eq!(state.invites.get(CODE).map(|i| i.uses), Some(1));
    chat([group_created(), made(Some(1), None), joined(DAVE)])
        .when(by(EVE, join()))
        .then_error(Conflict, "invite_used_up");
    chat([group_created(), made(Some(1), None), joined(DAVE)])
        .when(by(DAVE, join()))
        .then_nothing();
}

#[test]
fn expired_revoked_and_unknown_invites_admit_nobody() {
    let end = T0 + Duration::hours(1);
    chat([group_created(), made(None, Some(end))])
        .when(by_at(DAVE, end, join()))
        .then_error(Conflict, "invite_used_up");
    let revoked = ChatEvent::InviteRevoked {
        chat_id: GROUP,
        code_hash: CODE.into(),
        by: ALICE,
        at: T0,
    };
    chat([group_created(), made(None, None), revoked])
        .when(by(DAVE, join()))
        .then_error(NotFound, "invite_not_found");
    chat([group_created()])
        .when(by(
            ALICE,
            ChatAction::CreateInvite {
                code_hash: CODE.into(),
                max_uses: Some(0),
                expires_at: None,
            },
        ))
        .then_error(Invalid, "invalid_max_uses");
}

#[test]
fn the_banned_and_joins_past_the_cap_are_refused() {
    let ban = ChatEvent::MemberBanned {
        chat_id: GROUP,
        user_id: DAVE,
        by: ALICE,
        until: None,
        reason: None,
        at: T0,
    };
    chat([group_created(), made(None, None), ban])
        .when(by(DAVE, join()))
        .then_error(Forbidden, "user_banned");
    let policy = crate::policy::Policy {
        max_group_members: 3,
        ..crate::policy::Policy::default()
    };
    chat([group_created(), made(None, None)])
        .with_policy(policy)
        .when(by(DAVE, join()))
        .then_error(Conflict, "group_full");
}
