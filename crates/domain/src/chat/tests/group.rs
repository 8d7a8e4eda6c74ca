use super::*;
use crate::chat::{ChatStatus, Invitee, Role};
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};
use crate::event::Aggregate;
use crate::policy::Policy;

fn create(members: Vec<Uuid>) -> ChatCommand {
    by(
        ALICE,
        ChatAction::CreateGroup {
            chat_id: GROUP,
            title: "  Hikers ".into(),
            description: None,
            member_ids: members,
            invitees: Vec::new(),
        },
    )
}

fn info(title: Option<&str>, description: Option<&str>, avatar: Option<&str>) -> ChatAction {
    ChatAction::UpdateGroupInfo {
        title: title.map(Into::into),
        description: description.map(Into::into),
        avatar_url: avatar.map(Into::into),
    }
}

pub(super) fn promoted(user_id: Uuid, by: Option<Uuid>) -> ChatEvent {
    ChatEvent::AdminPromoted {
        chat_id: GROUP,
        user_id,
        by,
        at: T0,
    }
}

pub(super) fn left(user_id: Uuid) -> ChatEvent {
    ChatEvent::MemberLeft {
        chat_id: GROUP,
        user_id,
        at: T0,
    }
}

pub(super) fn added(user_ids: Vec<Uuid>, joined_seq: u64) -> ChatEvent {
    ChatEvent::MembersAdded {
        chat_id: GROUP,
        user_ids,
        by: ALICE,
        joined_seq,
        at: T0,
        invite: None,
    }
}

#[test]
fn creating_a_group_makes_the_creator_owner_and_admin() {
    let state = chat([])
        .when(create(vec![BOB, ALICE, CAROL, BOB]))
        .then([group_created()]);
    assert_eq!(state.owner(), Some(ALICE));
    assert_eq!(state.admins().into_iter().collect::<Vec<_>>(), vec![ALICE]);
    assert_eq!(state.members.len(), 3);
    assert_eq!(state.status(), ChatStatus::Active);
}

#[test]
fn a_group_needs_three_distinct_people() {
    chat([])
        .when(create(vec![BOB, BOB, ALICE]))
        .then_error(Invalid, "group_too_small");
}

#[test]
fn a_new_group_cannot_exceed_the_member_limit() {
    let policy = Policy {
        max_group_members: 3,
        ..Policy::default()
    };
    chat([])
        .with_policy(policy)
        .when(create(vec![BOB, CAROL, DAVE]))
        .then_error(Invalid, "group_too_large");
}

#[test]
fn a_blank_or_overlong_title_is_invalid() {
    for title in ["   ".to_string(), "x".repeat(129)] {
        let cmd = by(
            ALICE,
            ChatAction::CreateGroup {
                chat_id: GROUP,
                title,
                description: None,
                member_ids: vec![BOB, CAROL],
                invitees: Vec::new(),
            },
        );
        chat([]).when(cmd).then_error(Invalid, "invalid_title");
    }
}

#[test]
fn creating_a_chat_that_exists_is_a_conflict() {
    chat([group_created()])
        .when(create(vec![BOB, CAROL]))
        .then_error(Conflict, "chat_exists");
}

#[test]
fn updating_group_info_carries_the_full_new_values() {
    let state = chat([group_created()])
        .when(by(
            ALICE,
            info(
                None,
                Some(" Weekend trips "),
                Some("https://x.example/a.png"),
            ),
        ))
        .then([ChatEvent::GroupInfoUpdated {
            chat_id: GROUP,
            by: ALICE,
            title: "Hikers".into(),
            description: Some("Weekend trips".into()),
            avatar_url: Some("https://x.example/a.png".into()),
            at: T0,
        }]);
    let cleared = ChatCommand {
        subscribers: Vec::new(),
        actor: ALICE,
        at: T0,
        action: info(None, Some(""), None),
    };
    let events = state
        .decide(&cleared, &Policy::default())
        .unwrap_or_default();
    assert!(matches!(
        events.as_slice(),
        [ChatEvent::GroupInfoUpdated {
            description: None,
            avatar_url: Some(_),
            ..
        }]
    ));
}

#[test]
fn unchanged_group_info_decides_nothing() {
    chat([group_created()])
        .when(by(ALICE, info(Some("Hikers"), Some(""), None)))
        .then_nothing();
}

#[test]
fn only_admins_update_group_info() {
    chat([group_created()])
        .when(by(BOB, info(Some("Mine"), None, None)))
        .then_error(Forbidden, "not_an_admin");
}

#[test]
fn adding_members_skips_existing_ones_and_records_the_join_seq() {
    let state = chat([group_created(), sent(GROUP, 1, BOB)])
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![BOB, DAVE, DAVE, EVE],
                invitees: Vec::new(),
            },
        ))
        .then([added(vec![DAVE, EVE], 1)]);
    assert_eq!(
        state.member(DAVE).map(|m| (m.joined_seq, m.role)),
        Some((1, Role::Member))
    );
}

#[test]
fn adding_only_existing_members_decides_nothing() {
    chat([group_created()])
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![BOB],
                invitees: Vec::new(),
            },
        ))
        .then_nothing();
}

#[test]
fn adding_past_the_member_limit_is_a_conflict() {
    let policy = Policy {
        max_group_members: 4,
        ..Policy::default()
    };
    chat([group_created()])
        .with_policy(policy)
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![DAVE, EVE],
                invitees: Vec::new(),
            },
        ))
        .then_error(Conflict, "group_full");
}

#[test]
fn outsiders_cannot_see_a_group() {
    chat([group_created()])
        .when(by(
            DAVE,
            ChatAction::AddMembers {
                user_ids: vec![EVE],
                invitees: Vec::new(),
            },
        ))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn admins_remove_members() {
    let state = chat([group_created()])
        .when(by(ALICE, ChatAction::RemoveMember { user_id: BOB }))
        .then([ChatEvent::MemberRemoved {
            chat_id: GROUP,
            user_id: BOB,
            by: ALICE,
            at: T0,
        }]);
    assert!(!state.is_participant(BOB));
}

#[test]
fn members_cannot_remove_members() {
    chat([group_created()])
        .when(by(BOB, ChatAction::RemoveMember { user_id: CAROL }))
        .then_error(Forbidden, "not_an_admin");
}

#[test]
fn removing_the_owner_is_forbidden() {
    chat([group_created(), promoted(BOB, Some(ALICE))])
        .when(by(BOB, ChatAction::RemoveMember { user_id: ALICE }))
        .then_error(Forbidden, "cannot_remove_owner");
}

#[test]
fn removing_a_non_member_is_not_found() {
    chat([group_created()])
        .when(by(ALICE, ChatAction::RemoveMember { user_id: DAVE }))
        .then_error(NotFound, "not_a_member");
}

#[test]
fn removing_yourself_is_invalid() {
    chat([group_created()])
        .when(by(ALICE, ChatAction::RemoveMember { user_id: ALICE }))
        .then_error(Invalid, "cannot_remove_self");
}

fn invitee(user_id: Uuid, blocks_actor: bool, accepts_requests: bool, contact: bool) -> Invitee {
    Invitee {
        user_id,
        blocks_actor,
        accepts_requests,
        contact,
    }
}

#[test]
fn nobody_is_put_into_a_group_by_someone_they_blocked() {
    let mut command = create(vec![BOB, CAROL]);
    if let ChatAction::CreateGroup { invitees, .. } = &mut command.action {
        invitees.push(invitee(CAROL, true, true, true));
    }
    chat([])
        .when(command)
        .then_error(Forbidden, "member_refuses");
    chat([group_created()])
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![DAVE],
                invitees: vec![invitee(DAVE, true, true, false)],
            },
        ))
        .then_error(Forbidden, "member_refuses");
}

#[test]
fn who_accepts_requests_from_nobody_is_added_by_contacts_only() {
    let closed = |contact| ChatAction::AddMembers {
        user_ids: vec![DAVE],
        invitees: vec![invitee(DAVE, false, false, contact)],
    };
    chat([group_created()])
        .when(by(ALICE, closed(false)))
        .then_error(Forbidden, "member_refuses");
    chat([group_created()])
        .when(by(ALICE, closed(true)))
        .then([added(vec![DAVE], 0)]);
    // Facts about someone not being added change nothing.
    chat([group_created()])
        .when(by(
            ALICE,
            ChatAction::AddMembers {
                user_ids: vec![EVE],
                invitees: vec![invitee(DAVE, true, false, false)],
            },
        ))
        .then([added(vec![EVE], 0)]);
}
