//! Who an event concerns: the pure rules shared by the live router and the
//! resume replay, so both decide alike at every position.
//!
//! * a `user-{id}` event goes to that user only (their mutes, hides, blocks,
//!   settings; nobody else's delete-for-me is ever sent);
//! * a `chat-{id}` event goes to the chat's members *as of that event*: the
//!   users an event adds receive it, the user it removes receives it too,
//!   and nothing after it.

use chat_domain::{ChatEvent, StreamKind, parse_stream};
use serde_json::Value;
use uuid::Uuid;

use crate::protocol::{Frame, event_frame};

/// What an event does to the chat's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    None,
    /// These users are members from this event on (it is sent to them).
    Join(Vec<Uuid>),
    /// This user is not a member after this event (it is still sent to them).
    Leave(Uuid),
    /// A direct chat's contact state changed (for presence visibility).
    Direct(DirectChange),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectChange {
    Accepted,
    /// Carries the requester: a rejection is never shown to them.
    Rejected(Uuid),
    Blocked(Uuid),
    Unblocked(Uuid),
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A user-stream event; `visibility` is set by `SettingsChanged`,
    /// `block` by `UserBlocked` / `UserUnblocked` (the other user, and
    /// whether they are blocked now).
    User {
        user_id: Uuid,
        visibility: Option<Visibility>,
        block: Option<(Uuid, bool)>,
    },
    Chat {
        chat_id: Uuid,
        change: Change,
    },
    /// Not a stream the gateway knows.
    Nobody,
}

/// Who may see a user's presence and last-seen (`last_seen_visible_to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Everyone,
    Contacts,
    Nobody,
}

impl Visibility {
    pub fn parse(s: &str) -> Visibility {
        match s {
            "contacts" => Visibility::Contacts,
            "nobody" => Visibility::Nobody,
            _ => Visibility::Everyone,
        }
    }
}

/// Event types whose payload the router must decode (everything else is
/// routed by its stream alone).
const CHAT_TYPES: [&str; 10] = [
    "GroupCreated",
    "MembersAdded",
    "MemberRemoved",
    "MemberLeft",
    "DirectChatRequested",
    "ChatRequestAccepted",
    "ChatRequestRejected",
    "DirectChatBlocked",
    "DirectChatUnblocked",
    "GroupClosed",
];

/// Decide where an (upcast) event goes. A payload that does not decode is
/// routed by its stream with no membership change, and logged.
pub fn target(stream: &str, event_type: &str, payload: &Value) -> Target {
    match parse_stream(stream) {
        Some((StreamKind::User, user_id)) => {
            let visibility = (event_type == "SettingsChanged")
                .then(|| payload.get("last_seen_visible_to").and_then(Value::as_str))
                .flatten()
                .map(Visibility::parse);
            let block = match event_type {
                "UserBlocked" | "UserUnblocked" => payload
                    .get("blocked_user_id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .map(|other| (other, event_type == "UserBlocked")),
                _ => None,
            };
            Target::User {
                user_id,
                visibility,
                block,
            }
        }
        Some((StreamKind::Chat, chat_id)) => {
            let change = if CHAT_TYPES.contains(&event_type) {
                match serde_json::from_value::<ChatEvent>(payload.clone()) {
                    Ok(e) => change_of(e),
                    Err(e) => {
                        tracing::error!(error = %e, event_type, stream, "undecodable chat event");
                        Change::None
                    }
                }
            } else {
                Change::None
            };
            Target::Chat { chat_id, change }
        }
        _ => Target::Nobody,
    }
}

fn change_of(e: ChatEvent) -> Change {
    use ChatEvent as E;
    match e {
        E::GroupCreated { member_ids, .. } => Change::Join(member_ids),
        E::MembersAdded { user_ids, .. } => Change::Join(user_ids),
        E::DirectChatRequested {
            requester_id,
            recipient_id,
            ..
        } => Change::Join(vec![requester_id, recipient_id]),
        E::MemberRemoved { user_id, .. } | E::MemberLeft { user_id, .. } => Change::Leave(user_id),
        E::ChatRequestAccepted { .. } => Change::Direct(DirectChange::Accepted),
        E::ChatRequestRejected { requester_id, .. } => {
            Change::Direct(DirectChange::Rejected(requester_id))
        }
        E::DirectChatBlocked { by, .. } => Change::Direct(DirectChange::Blocked(by)),
        E::DirectChatUnblocked { by, .. } => Change::Direct(DirectChange::Unblocked(by)),
        _ => Change::None,
    }
}

/// One user's view of one chat: is an event at this point theirs, and are
/// they a member after it? `member` is their membership just before it.
pub fn concerns(user: Uuid, member: bool, change: &Change) -> (bool, bool) {
    match change {
        Change::Join(users) if users.contains(&user) => (true, true),
        Change::Leave(u) if *u == user => (member, false),
        // The requester is not told their request was rejected.
        Change::Direct(DirectChange::Rejected(requester)) if *requester == user => (false, member),
        _ => (member, member),
    }
}

/// The frame of an event: the chat it belongs to (for user-stream events
/// about a chat, that chat), and the domain event itself.
pub fn frame(position: u64, target: &Target, payload: &Value) -> Frame {
    let chat_id = match target {
        Target::Chat { chat_id, .. } => Some(*chat_id),
        _ => payload
            .get("chat_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok()),
    };
    event_frame(position, chat_id, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rejection_reaches_the_recipient_but_never_the_requester() {
        let (requester, recipient) = (Uuid::now_v7(), Uuid::now_v7());
        let rejected = Change::Direct(DirectChange::Rejected(requester));
        assert_eq!(concerns(requester, true, &rejected), (false, true));
        assert_eq!(concerns(recipient, true, &rejected), (true, true));
    }

    #[test]
    fn a_removed_member_receives_the_removal_and_nothing_after() {
        let (u, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(concerns(u, true, &Change::Leave(u)), (true, false));
        assert_eq!(concerns(u, false, &Change::None), (false, false));
        assert_eq!(concerns(u, true, &Change::Leave(other)), (true, true));
        assert_eq!(concerns(u, false, &Change::Join(vec![u])), (true, true));
        assert_eq!(
            concerns(u, false, &Change::Join(vec![other])),
            (false, false)
        );
    }

    #[test]
    fn membership_events_are_decoded_and_others_are_routed_by_stream() {
        let (chat, u, by) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let removed = json!({"type": "MemberRemoved", "chat_id": chat, "user_id": u, "by": by,
                             "at": "2026-01-01T00:00:00Z"});
        assert_eq!(
            target(&format!("chat-{chat}"), "MemberRemoved", &removed),
            Target::Chat {
                chat_id: chat,
                change: Change::Leave(u)
            }
        );
        let hidden = json!({"type": "MessageHiddenForMe", "chat_id": chat});
        let t = target(&format!("user-{u}"), "MessageHiddenForMe", &hidden);
        assert_eq!(
            t,
            Target::User {
                user_id: u,
                visibility: None,
                block: None,
            }
        );
        let blocked = json!({"type": "UserBlocked", "user_id": u, "blocked_user_id": by});
        assert_eq!(
            target(&format!("user-{u}"), "UserBlocked", &blocked),
            Target::User {
                user_id: u,
                visibility: None,
                block: Some((by, true)),
            }
        );
        assert!(frame(9, &t, &hidden).as_str().contains(&chat.to_string()));
        assert_eq!(target("other-1", "X", &json!({})), Target::Nobody);
    }
}
