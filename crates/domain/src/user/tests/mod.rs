//! Given/when/then tests of the user rules, and serde round trips.

mod media;
mod prefs;
mod serde_round_trip;

use std::collections::BTreeSet;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};
use crate::event::DomainEvent;
use crate::message::{MessageFacts, MessageKind};
use crate::testing::{Given, given};

const ME: Uuid = Uuid::from_u128(1);
const OTHER: Uuid = Uuid::from_u128(2);
const CHAT: Uuid = Uuid::from_u128(100);
const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

fn user(events: impl IntoIterator<Item = UserEvent>) -> Given<User> {
    given::<User>(events)
}

fn by(actor: Uuid, action: UserAction) -> UserCommand {
    UserCommand {
        actor,
        at: T0,
        action,
    }
}

fn registered() -> UserEvent {
    UserEvent::UserRegistered {
        user_id: ME,
        username: "alice".into(),
        display_name: "alice".into(),
        at: T0,
    }
}

fn me(events: impl IntoIterator<Item = UserEvent>) -> Given<User> {
    user(std::iter::once(registered()).chain(events))
}

fn register(username: &str, display_name: Option<&str>) -> UserCommand {
    by(
        ME,
        UserAction::Register {
            username: username.into(),
            display_name: display_name.map(Into::into),
        },
    )
}

fn profile(display: Option<&str>, avatar: Option<&str>, bio: Option<&str>) -> UserCommand {
    by(
        ME,
        UserAction::UpdateProfile {
            display_name: display.map(Into::into),
            avatar_url: avatar.map(Into::into),
            bio: bio.map(Into::into),
        },
    )
}

fn message(seq: u64) -> MessageFacts {
    MessageFacts {
        message_id: Uuid::from_u128(500 + u128::from(seq)),
        chat_id: CHAT,
        seq,
        sender_id: OTHER,
        kind: MessageKind::Text,
        text: Some("hi".into()),
        media: None,
        sent_at: T0,
        deleted: false,
        edited_at: None,
        pinned: false,
        reactions_of_actor: BTreeSet::new(),
        poll: None,
    }
}

fn hide(message: MessageFacts, visible: bool, already_hidden: bool) -> UserCommand {
    by(
        ME,
        UserAction::HideMessage {
            chat_id: CHAT,
            message,
            visible,
            already_hidden,
        },
    )
}

#[test]
fn registering_lowercases_the_username_and_defaults_the_display_name() {
    let state = user([]).when(register("Alice", None)).then([registered()]);
    assert!(state.exists() && state.settings.read_receipts && state.accepts_requests());
}

#[test]
fn registering_twice_is_a_conflict() {
    me([])
        .when(register("alice", None))
        .then_error(Conflict, "user_exists");
}

#[test]
fn malformed_usernames_and_display_names_are_invalid() {
    user([])
        .when(register("a b", None))
        .then_error(Invalid, "invalid_username");
    let long = "x".repeat(65);
    user([])
        .when(register("alice", Some(&long)))
        .then_error(Invalid, "invalid_display_name");
}

#[test]
fn commands_on_an_unregistered_user_are_not_found() {
    user([])
        .when(profile(Some("A"), None, None))
        .then_error(NotFound, "user_not_found");
}

#[test]
fn only_the_user_changes_their_own_stream() {
    let mut cmd = profile(Some("A"), None, None);
    cmd.actor = OTHER;
    me([]).when(cmd).then_error(Forbidden, "not_self");
}

#[test]
fn updating_the_profile_carries_the_full_new_values() {
    me([])
        .when(profile(
            None,
            Some("https://a.example/me.png"),
            Some(" hi "),
        ))
        .then([UserEvent::ProfileUpdated {
            user_id: ME,
            display_name: "alice".into(),
            avatar_url: Some("https://a.example/me.png".into()),
            bio: Some("hi".into()),
            at: T0,
        }]);
}

#[test]
fn an_unchanged_profile_decides_nothing() {
    me([])
        .when(profile(Some("alice"), Some(""), None))
        .then_nothing();
}

#[test]
fn profile_fields_are_validated() {
    me([])
        .when(profile(None, Some("ftp://x"), None))
        .then_error(Invalid, "invalid_avatar_url");
    let bio = "b".repeat(513);
    me([])
        .when(profile(None, None, Some(&bio)))
        .then_error(Invalid, "bio_too_long");
}

#[test]
fn changing_settings_carries_all_settings_and_repeats_decide_nothing() {
    let change = || {
        by(
            ME,
            UserAction::UpdateSettings {
                read_receipts: None,
                last_seen_visible_to: Some(LastSeenVisibility::Contacts),
                accept_requests_from: Some(AcceptRequestsFrom::Nobody),
                push_preview: Some(crate::user::PushPreview::SenderOnly),
            },
        )
    };
    let changed = UserEvent::SettingsChanged {
        user_id: ME,
        read_receipts: true,
        last_seen_visible_to: LastSeenVisibility::Contacts,
        accept_requests_from: AcceptRequestsFrom::Nobody,
        push_preview: crate::user::PushPreview::SenderOnly,
        at: T0,
    };
    let state = me([]).when(change()).then([changed.clone()]);
    assert!(!state.accepts_requests());
    me([changed]).when(change()).then_nothing();
}

#[test]
fn blocking_and_unblocking_users_is_idempotent() {
    let blocked = UserEvent::UserBlocked {
        user_id: ME,
        blocked_user_id: OTHER,
        at: T0,
    };
    let state = me([])
        .when(by(ME, UserAction::BlockUser { target: OTHER }))
        .then([blocked.clone()]);
    assert!(state.blocks(OTHER));
    me([blocked.clone()])
        .when(by(ME, UserAction::BlockUser { target: OTHER }))
        .then_nothing();
    me([])
        .when(by(ME, UserAction::UnblockUser { target: OTHER }))
        .then_nothing();
    me([blocked])
        .when(by(ME, UserAction::UnblockUser { target: OTHER }))
        .then([UserEvent::UserUnblocked {
            user_id: ME,
            blocked_user_id: OTHER,
            at: T0,
        }]);
}

#[test]
fn blocking_yourself_is_invalid() {
    me([])
        .when(by(ME, UserAction::BlockUser { target: ME }))
        .then_error(Invalid, "cannot_block_self");
}

#[test]
fn the_block_list_is_capped() {
    let blocked = UserEvent::UserBlocked {
        user_id: ME,
        blocked_user_id: OTHER,
        at: T0,
    };
    me([blocked])
        .with_policy(crate::Policy {
            max_blocked_users: 1,
            ..crate::Policy::default()
        })
        .when(by(
            ME,
            UserAction::BlockUser {
                target: Uuid::from_u128(3),
            },
        ))
        .then_error(Conflict, "too_many_blocks");
}
