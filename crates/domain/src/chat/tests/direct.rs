use super::*;
use crate::chat::{ChatStatus, DirectStatus};
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};

fn start(actor: Uuid, recipient: Uuid) -> ChatCommand {
    by(
        actor,
        ChatAction::StartDirect {
            chat_id: ids::direct_chat_id(actor, recipient),
            recipient,
            recipient_blocked_requester: false,
            requester_blocked_recipient: false,
            recipient_accepts_requests: true,
        },
    )
}

fn with_flags(cmd: ChatCommand, blocked: bool, i_blocked: bool, accepts: bool) -> ChatCommand {
    let ChatAction::StartDirect {
        chat_id, recipient, ..
    } = cmd.action
    else {
        panic!("not a start command");
    };
    by(
        cmd.actor,
        ChatAction::StartDirect {
            chat_id,
            recipient,
            recipient_blocked_requester: blocked,
            requester_blocked_recipient: i_blocked,
            recipient_accepts_requests: accepts,
        },
    )
}

fn rejected() -> ChatEvent {
    ChatEvent::ChatRequestRejected {
        chat_id: dm(),
        requester_id: ALICE,
        recipient_id: BOB,
        at: T0,
    }
}

fn blocked_by(user: Uuid) -> ChatEvent {
    ChatEvent::DirectChatBlocked {
        chat_id: dm(),
        by: user,
        at: T0,
    }
}

#[test]
fn starting_a_direct_chat_requests_it() {
    let state = chat([]).when(start(ALICE, BOB)).then([requested()]);
    assert_eq!(state.status(), ChatStatus::Pending);
    assert_eq!(state.members.len(), 2);
    assert!(state.is_participant(ALICE) && state.is_participant(BOB));
}

#[test]
fn starting_with_a_chat_id_not_derived_from_the_pair_is_invalid() {
    let mut cmd = start(ALICE, BOB);
    if let ChatAction::StartDirect { chat_id, .. } = &mut cmd.action {
        *chat_id = ids::direct_chat_id(ALICE, CAROL);
    }
    chat([]).when(cmd).then_error(Invalid, "chat_id_mismatch");
}

#[test]
fn starting_a_chat_with_yourself_is_invalid() {
    chat([])
        .when(start(ALICE, ALICE))
        .then_error(Invalid, "cannot_chat_with_self");
}

#[test]
fn a_recipient_who_blocked_you_refuses_the_request() {
    let cmd = with_flags(start(ALICE, BOB), true, false, true);
    chat([]).when(cmd).then_error(Forbidden, "blocked");
}

#[test]
fn requesting_a_user_you_blocked_is_forbidden() {
    let cmd = with_flags(start(ALICE, BOB), false, true, true);
    chat([]).when(cmd).then_error(Forbidden, "you_blocked_user");
}

#[test]
fn requests_to_users_accepting_nobody_are_forbidden() {
    let cmd = with_flags(start(ALICE, BOB), false, false, false);
    chat([])
        .when(cmd)
        .then_error(Forbidden, "requests_not_accepted");
}

#[test]
fn starting_an_existing_chat_again_decides_nothing() {
    chat([requested()]).when(start(ALICE, BOB)).then_nothing();
    chat([requested()]).when(start(BOB, ALICE)).then_nothing();
    chat([requested(), accepted()])
        .when(start(BOB, ALICE))
        .then_nothing();
    chat([requested(), accepted(), blocked_by(BOB)])
        .when(start(ALICE, BOB))
        .then_nothing();
}

#[test]
fn the_rejecting_recipient_may_start_the_chat_again_with_roles_swapped() {
    let state = chat([requested(), rejected()])
        .when(start(BOB, ALICE))
        .then([ChatEvent::DirectChatRequested {
            chat_id: dm(),
            requester_id: BOB,
            recipient_id: ALICE,
            at: T0,
        }]);
    let d = state
        .direct
        .as_ref()
        .map(|d| (d.requester, d.recipient, d.status));
    assert_eq!(d, Some((BOB, ALICE, DirectStatus::Pending)));
    assert_eq!(state.members.len(), 2);
}

#[test]
fn the_rejected_requester_cannot_start_the_chat_again() {
    chat([requested(), rejected()])
        .when(start(ALICE, BOB))
        .then_error(Conflict, "chat_request_rejected");
}

#[test]
fn accepting_a_request_makes_the_chat_active() {
    let state = chat([requested()])
        .when(by(BOB, ChatAction::AcceptRequest))
        .then([accepted()]);
    assert_eq!(state.status(), ChatStatus::Active);
}

#[test]
fn accepting_a_request_twice_is_a_conflict() {
    chat([requested(), accepted()])
        .when(by(BOB, ChatAction::AcceptRequest))
        .then_error(Conflict, "chat_not_pending");
}

#[test]
fn only_the_recipient_may_answer_a_request() {
    chat([requested()])
        .when(by(ALICE, ChatAction::AcceptRequest))
        .then_error(Forbidden, "not_the_recipient");
    chat([requested()])
        .when(by(ALICE, ChatAction::RejectRequest))
        .then_error(Forbidden, "not_the_recipient");
}

#[test]
fn strangers_cannot_see_a_request() {
    chat([requested()])
        .when(by(CAROL, ChatAction::AcceptRequest))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn rejecting_a_request_makes_the_chat_rejected() {
    let state = chat([requested()])
        .when(by(BOB, ChatAction::RejectRequest))
        .then([rejected()]);
    assert_eq!(state.status(), ChatStatus::Rejected);
}

#[test]
fn rejecting_an_accepted_chat_is_a_conflict() {
    chat([requested(), accepted()])
        .when(by(BOB, ChatAction::RejectRequest))
        .then_error(Conflict, "chat_not_pending");
}

#[test]
fn blocking_a_chat_blocks_it_until_unblocked() {
    let state = chat([requested(), accepted()])
        .when(by(BOB, ChatAction::BlockChat))
        .then([blocked_by(BOB)]);
    assert_eq!(state.status(), ChatStatus::Blocked);
    let state = chat([requested(), accepted(), blocked_by(BOB)])
        .when(by(BOB, ChatAction::UnblockChat))
        .then([ChatEvent::DirectChatUnblocked {
            chat_id: dm(),
            by: BOB,
            at: T0,
        }]);
    assert_eq!(state.status(), ChatStatus::Active);
}

#[test]
fn blocking_twice_or_unblocking_an_unblocked_chat_decides_nothing() {
    chat([requested(), blocked_by(ALICE)])
        .when(by(ALICE, ChatAction::BlockChat))
        .then_nothing();
    chat([requested()])
        .when(by(ALICE, ChatAction::UnblockChat))
        .then_nothing();
}

#[test]
fn a_chat_blocked_by_both_stays_blocked_until_both_unblock() {
    let state = chat([requested(), blocked_by(ALICE), blocked_by(BOB)])
        .when(by(ALICE, ChatAction::UnblockChat))
        .then([ChatEvent::DirectChatUnblocked {
            chat_id: dm(),
            by: ALICE,
            at: T0,
        }]);
    assert_eq!(state.status(), ChatStatus::Blocked);
}

#[test]
fn strangers_cannot_block_a_chat() {
    chat([requested()])
        .when(by(CAROL, ChatAction::BlockChat))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn direct_chat_commands_on_a_group_are_invalid() {
    for action in [ChatAction::BlockChat, ChatAction::AcceptRequest] {
        chat([group_created()])
            .when(by(ALICE, action))
            .then_error(Invalid, "not_a_direct_chat");
    }
}

#[test]
fn starting_a_direct_chat_over_a_group_id_is_a_conflict() {
    let group = ChatEvent::GroupCreated {
        chat_id: dm(),
        owner_id: ALICE,
        title: "odd".into(),
        description: None,
        member_ids: vec![ALICE, BOB, CAROL],
        at: T0,
    };
    chat([group])
        .when(start(ALICE, BOB))
        .then_error(Conflict, "chat_exists");
}

#[test]
fn starting_another_pairs_chat_in_this_stream_is_invalid() {
    chat([requested()])
        .when(start(ALICE, CAROL))
        .then_error(Invalid, "chat_id_mismatch");
}
