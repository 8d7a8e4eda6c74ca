//! Who an event concerns: the pure rules shared by the live router and the
//! resume replay, so both decide alike at every position.
//!
//! * a `user-{id}` event goes to that user only (their mutes, hides, blocks,
//!   settings; nobody else's delete-for-me is ever sent);
//! * a `chat-{id}` event goes to the chat's members *as of that event*: the
//!   users an event adds receive it, the user it removes receives it too,
//!   and nothing after it;
//! * of those, each member receives it only if the visibility rule lets
//!   them see what it is [`About`] ([`crate::view`]).

use chat_domain::{
    ChatEvent, DIRECT_STATE_TYPES, MARKER_TYPES, MEMBERSHIP_TYPES, MESSAGE_TYPES, StreamKind,
    UserEvent, parse_stream,
};
use serde_json::Value;
use uuid::Uuid;

use crate::protocol::{Frame, event_frame};

/// What an event does to the chat's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    None,
    /// These users are members from this event on (it is sent to them);
    /// they see messages after `joined_seq`.
    Join(Vec<Uuid>, u64),
    /// This user is not a member after this event (it is still sent to them).
    Leave(Uuid),
    /// A direct chat's contact state changed (for presence visibility).
    Direct(DirectChange),
    /// A channel was created by this owner, its first member.
    Channel(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectChange {
    Accepted,
    /// Carries the requester: a rejection is never shown to them.
    Rejected(Uuid),
    Blocked(Uuid),
    Unblocked(Uuid),
}

/// What a user-stream event changes in what the gateway knows of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    None,
    /// `last_seen_visible_to` and `read_receipts`, as set now.
    Settings {
        last_seen: Visibility,
        receipts: bool,
    },
    /// They blocked (`true`) or unblocked this user.
    Block(Uuid, bool),
    /// They cleared this chat up to this seq.
    Cleared {
        chat: Uuid,
        up_to: u64,
    },
    /// They hid this message (by its seq) for themselves.
    Hidden {
        chat: Uuid,
        seq: u64,
    },
}

/// What a chat event shows, for the visibility rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// The chat itself (membership, title, roles).
    Chat,
    /// The message at this seq (its sending, edits, deletion, reactions,
    /// pins).
    Message(u64),
    /// This user's read or delivery marker (receipts).
    Marker(Uuid),
    /// A vote on the poll at this seq by this voter, in an anonymous poll.
    SecretBallot { seq: u64, voter: Uuid },
    /// One user's subscription to a channel, or its end by themselves.
    Subscription(Uuid),
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A user-stream event.
    User { user_id: Uuid, change: UserChange },
    Chat {
        chat_id: Uuid,
        change: Change,
        about: About,
    },
    /// Not a stream the gateway knows.
    Nobody,
}

/// Who may see a user's presence and last-seen (`last_seen_visible_to`).
pub use chat_domain::LastSeenVisibility as Visibility;

/// The read model's spelling of a [`Visibility`] (unknown = everyone).
pub fn parse_visibility(s: &str) -> Visibility {
    match s {
        "contacts" => Visibility::Contacts,
        "nobody" => Visibility::Nobody,
        _ => Visibility::Everyone,
    }
}

/// Chat event types whose payload the router must decode (everything else
/// is routed by its stream alone).
fn decoded(event_type: &str) -> bool {
    MEMBERSHIP_TYPES.contains(&event_type) || DIRECT_STATE_TYPES.contains(&event_type)
}

/// User-stream event types that change what the gateway knows.
const USER_TYPES: [&str; 5] = [
    "SettingsChanged",
    "UserBlocked",
    "UserUnblocked",
    "ChatCleared",
    "MessageHiddenForMe",
];

/// Decide where an (upcast) event goes. A payload that does not decode is
/// routed by its stream with no membership change, and logged.
pub fn target(stream: &str, event_type: &str, payload: &Value) -> Target {
    match parse_stream(stream) {
        Some((StreamKind::User, user_id)) => {
            let change = if USER_TYPES.contains(&event_type) {
                match serde_json::from_value::<UserEvent>(payload.clone()) {
                    Ok(e) => user_change(e),
                    Err(e) => {
                        tracing::error!(error = %e, event_type, stream, "undecodable user event");
                        UserChange::None
                    }
                }
            } else {
                UserChange::None
            };
            Target::User { user_id, change }
        }
        Some((StreamKind::Chat, chat_id)) => {
            let change = if decoded(event_type) {
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
            Target::Chat {
                chat_id,
                change,
                about: about(event_type, payload),
            }
        }
        _ => Target::Nobody,
    }
}

/// What a chat event is about: message events carry the message's seq and
/// read markers their owner, so neither needs a full decode on the hot path.
fn about(event_type: &str, payload: &Value) -> About {
    match event_type {
        "PollVoted" if payload.get("anonymous").and_then(Value::as_bool) == Some(true) => {
            match (
                payload.get("seq").and_then(Value::as_u64),
                uuid_at(payload, "user_id"),
            ) {
                (Some(seq), Some(voter)) => About::SecretBallot { seq, voter },
                _ => About::Message(0),
            }
        }
        t if MESSAGE_TYPES.contains(&t) => match payload.get("seq").and_then(Value::as_u64) {
            Some(seq) => About::Message(seq),
            None => {
                tracing::error!(event_type, "message event without a seq: shown to nobody");
                About::Message(0)
            }
        },
        t if MARKER_TYPES.contains(&t) => match uuid_at(payload, "user_id") {
            Some(user) => About::Marker(user),
            None => About::Message(0),
        },
        "ChannelSubscribed" | "ChannelUnsubscribed" => match uuid_at(payload, "user_id") {
            Some(user) => About::Subscription(user),
            None => About::Message(0),
        },
        _ => About::Chat,
    }
}

fn uuid_at(payload: &Value, field: &str) -> Option<Uuid> {
    payload.get(field)?.as_str()?.parse().ok()
}

fn user_change(e: UserEvent) -> UserChange {
    use UserEvent as E;
    match e {
        E::SettingsChanged {
            read_receipts,
            last_seen_visible_to,
            ..
        } => UserChange::Settings {
            last_seen: last_seen_visible_to,
            receipts: read_receipts,
        },
        E::UserBlocked {
            blocked_user_id, ..
        } => UserChange::Block(blocked_user_id, true),
        E::UserUnblocked {
            blocked_user_id, ..
        } => UserChange::Block(blocked_user_id, false),
        E::ChatCleared {
            chat_id, up_to_seq, ..
        } => UserChange::Cleared {
            chat: chat_id,
            up_to: up_to_seq,
        },
        E::MessageHiddenForMe { chat_id, seq, .. } => UserChange::Hidden { chat: chat_id, seq },
        _ => UserChange::None,
    }
}

fn change_of(e: ChatEvent) -> Change {
    use ChatEvent as E;
    match e {
        E::GroupCreated { member_ids, .. } => Change::Join(member_ids, 0),
        E::ChannelCreated { owner_id, .. } => Change::Channel(owner_id),
        E::ChannelSubscribed { user_id, .. } => Change::Join(vec![user_id], 0),
        E::ChannelUnsubscribed { user_id, .. } => Change::Leave(user_id),
        E::MembersAdded {
            user_ids,
            joined_seq,
            ..
        } => Change::Join(user_ids, joined_seq),
        E::DirectChatRequested {
            requester_id,
            recipient_id,
            ..
        } => Change::Join(vec![requester_id, recipient_id], 0),
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
        Change::Join(users, _) if users.contains(&user) => (true, true),
        Change::Channel(owner) if *owner == user => (true, true),
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
        assert_eq!(concerns(u, false, &Change::Join(vec![u], 0)), (true, true));
        assert_eq!(
            concerns(u, false, &Change::Join(vec![other], 3)),
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
                change: Change::Leave(u),
                about: About::Chat,
            }
        );
        let edited = json!({"type": "MessageEdited", "chat_id": chat, "seq": 7});
        let t = target(&format!("chat-{chat}"), "MessageEdited", &edited);
        assert!(matches!(
            t,
            Target::Chat {
                about: About::Message(7),
                ..
            }
        ));
        let hidden = json!({"type": "MessageHiddenForMe", "user_id": u, "chat_id": chat,
                            "message_id": by, "seq": 4, "at": "2026-01-01T00:00:00Z"});
        let t = target(&format!("user-{u}"), "MessageHiddenForMe", &hidden);
        assert_eq!(
            t,
            Target::User {
                user_id: u,
                change: UserChange::Hidden { chat, seq: 4 },
            }
        );
        let blocked = json!({"type": "UserBlocked", "user_id": u, "blocked_user_id": by,
                             "at": "2026-01-01T00:00:00Z"});
        assert_eq!(
            target(&format!("user-{u}"), "UserBlocked", &blocked),
            Target::User {
                user_id: u,
                change: UserChange::Block(by, true),
            }
        );
        assert!(frame(9, &t, &hidden).as_str().contains(&chat.to_string()));
        assert_eq!(target("other-1", "X", &json!({})), Target::Nobody);
    }
}
