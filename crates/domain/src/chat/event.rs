//! Events of the chat stream.
//!
//! The variant name is the event type (`"type"` in JSON). Every event carries
//! the chat id and its time, plus whatever projections need to update read
//! models without recomputing domain rules (seqs, senders, full new values).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::state::Role;
use crate::erasure::{SealKey, Shred};
use crate::event::DomainEvent;
use crate::message::{ForwardRef, MediaRef, MessageKind, ReplyRef};
use crate::poll::{Location, Poll};

/// Everything that can happen in a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[allow(
    clippy::large_enum_variant,
    reason = "events are decoded one at a time; boxing would only complicate the wire model"
)]
pub enum ChatEvent {
    DirectChatRequested {
        chat_id: Uuid,
        requester_id: Uuid,
        recipient_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatRequestAccepted {
        chat_id: Uuid,
        requester_id: Uuid,
        recipient_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatRequestRejected {
        chat_id: Uuid,
        requester_id: Uuid,
        recipient_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    DirectChatBlocked {
        chat_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    DirectChatUnblocked {
        chat_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    GroupCreated {
        chat_id: Uuid,
        owner_id: Uuid,
        title: String,
        description: Option<String>,
        /// All members, creator first, without duplicates.
        member_ids: Vec<Uuid>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A channel: its creator is its owner and first admin (and first
    /// subscriber). Its later info changes are `GroupInfoUpdated`.
    ChannelCreated {
        chat_id: Uuid,
        owner_id: Uuid,
        title: String,
        description: Option<String>,
        public: bool,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A user subscribed to a channel (by themselves: public, or through an
    /// invite). They see its whole history; everything up to `last_seq`
    /// counts as read.
    ChannelSubscribed {
        chat_id: Uuid,
        user_id: Uuid,
        last_seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// The invite they came through (its code's SHA-256).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite: Option<String>,
    },
    /// A subscriber left a channel by themselves (a removal by an admin or
    /// moderator is `MemberRemoved`).
    ChannelUnsubscribed {
        chat_id: Uuid,
        user_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Carries the full new values, not a diff.
    GroupInfoUpdated {
        chat_id: Uuid,
        by: Uuid,
        title: String,
        description: Option<String>,
        avatar_url: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MembersAdded {
        chat_id: Uuid,
        /// Only the users who were not members yet.
        user_ids: Vec<Uuid>,
        by: Uuid,
        /// They see messages with `seq > joined_seq`.
        joined_seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// The invite a user joined through (its code's SHA-256); left out
        /// for adds by an admin.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite: Option<String>,
    },
    MemberRemoved {
        chat_id: Uuid,
        user_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MemberLeft {
        chat_id: Uuid,
        user_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    AdminPromoted {
        chat_id: Uuid,
        user_id: Uuid,
        /// `None` when promoted automatically (the last admin left).
        by: Option<Uuid>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    AdminDemoted {
        chat_id: Uuid,
        user_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An admin made an invite link. Only the code's SHA-256 is recorded:
    /// the code itself is shown once, to its maker.
    InviteCreated {
        chat_id: Uuid,
        code_hash: String,
        by: Uuid,
        max_uses: Option<u32>,
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    InviteRevoked {
        chat_id: Uuid,
        code_hash: String,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An admin set a member's role (`admin`, `moderator` or `member`).
    MemberRoleChanged {
        chat_id: Uuid,
        user_id: Uuid,
        role: Role,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A user may not be added or join again until `until` (or until
    /// unbanned). A ban of a current member comes after their
    /// `MemberRemoved` in the same decision, so membership follows the
    /// removal everywhere and the ban is only the record that keeps them out.
    MemberBanned {
        chat_id: Uuid,
        user_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339::option")]
        until: Option<OffsetDateTime>,
        reason: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MemberUnbanned {
        chat_id: Uuid,
        user_id: Uuid,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    OwnershipTransferred {
        chat_id: Uuid,
        previous_owner_id: Uuid,
        new_owner_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    GroupClosed {
        chat_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MessageSent {
        chat_id: Uuid,
        message_id: Uuid,
        client_msg_id: String,
        /// Per-chat, gapless from 1.
        seq: u64,
        sender_id: Uuid,
        kind: MessageKind,
        /// The text, or a media message's caption.
        text: Option<String>,
        media: Option<MediaRef>,
        reply_to: Option<ReplyRef>,
        forward_of: Option<ForwardRef>,
        /// Members the message mentions (never the sender); left out when
        /// empty, so events from before mentions read unchanged.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<Uuid>,
        /// The poll of a `poll` message; left out otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        poll: Option<Poll>,
        /// The point of a `location` message; left out otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Location>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MessageEdited {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        editor_id: Uuid,
        text: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A tombstone: read models drop the body.
    MessageDeleted {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        by: Uuid,
        sender_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ReactionAdded {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        user_id: Uuid,
        emoji: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ReactionRemoved {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        user_id: Uuid,
        emoji: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MessagePinned {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MessageUnpinned {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ReadMarkerMoved {
        chat_id: Uuid,
        user_id: Uuid,
        up_to_seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A member's ballot on a poll, replacing their earlier one; empty
    /// retracts. `anonymous` copies the poll's, so readers route it without
    /// a lookup (an anonymous vote reaches only the voter).
    PollVoted {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        user_id: Uuid,
        option_ids: Vec<u32>,
        anonymous: bool,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The author closed the poll: no more votes.
    PollClosed {
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        by: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A member's devices received the chat's messages up to `up_to_seq`
    /// (the client's acknowledgement, not the server's send).
    DeliveryMarkerMoved {
        chat_id: Uuid,
        user_id: Uuid,
        up_to_seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

macro_rules! each_variant {
    ($self:ident, $bind:ident => $body:expr) => {
        match $self {
            ChatEvent::DirectChatRequested { $bind, .. }
            | ChatEvent::ChatRequestAccepted { $bind, .. }
            | ChatEvent::ChatRequestRejected { $bind, .. }
            | ChatEvent::DirectChatBlocked { $bind, .. }
            | ChatEvent::DirectChatUnblocked { $bind, .. }
            | ChatEvent::GroupCreated { $bind, .. }
            | ChatEvent::ChannelCreated { $bind, .. }
            | ChatEvent::ChannelSubscribed { $bind, .. }
            | ChatEvent::ChannelUnsubscribed { $bind, .. }
            | ChatEvent::GroupInfoUpdated { $bind, .. }
            | ChatEvent::MembersAdded { $bind, .. }
            | ChatEvent::MemberRemoved { $bind, .. }
            | ChatEvent::MemberLeft { $bind, .. }
            | ChatEvent::AdminPromoted { $bind, .. }
            | ChatEvent::AdminDemoted { $bind, .. }
            | ChatEvent::InviteCreated { $bind, .. }
            | ChatEvent::InviteRevoked { $bind, .. }
            | ChatEvent::MemberRoleChanged { $bind, .. }
            | ChatEvent::MemberBanned { $bind, .. }
            | ChatEvent::MemberUnbanned { $bind, .. }
            | ChatEvent::OwnershipTransferred { $bind, .. }
            | ChatEvent::GroupClosed { $bind, .. }
            | ChatEvent::MessageSent { $bind, .. }
            | ChatEvent::MessageEdited { $bind, .. }
            | ChatEvent::MessageDeleted { $bind, .. }
            | ChatEvent::ReactionAdded { $bind, .. }
            | ChatEvent::ReactionRemoved { $bind, .. }
            | ChatEvent::MessagePinned { $bind, .. }
            | ChatEvent::MessageUnpinned { $bind, .. }
            | ChatEvent::PollVoted { $bind, .. }
            | ChatEvent::PollClosed { $bind, .. }
            | ChatEvent::ReadMarkerMoved { $bind, .. }
            | ChatEvent::DeliveryMarkerMoved { $bind, .. } => $body,
        }
    };
}

impl ChatEvent {
    /// What a sent message says in words, for previews and notifications:
    /// its text or caption, a poll's question, a location's name.
    pub fn words(&self) -> Option<&str> {
        match self {
            ChatEvent::MessageSent {
                text,
                poll,
                location,
                ..
            } => text
                .as_deref()
                .or(poll.as_ref().map(|p| p.question.as_str()))
                .or(location.as_ref().and_then(|l| l.name.as_deref())),
            _ => None,
        }
    }

    /// The chat the event belongs to.
    pub fn chat_id(&self) -> Uuid {
        each_variant!(self, chat_id => *chat_id)
    }

    /// When it happened (domain time, from the command).
    pub fn at(&self) -> OffsetDateTime {
        each_variant!(self, at => *at)
    }
}

/// Event types that add users to a chat: they are members from it on.
pub const JOIN_TYPES: [&str; 5] = [
    "GroupCreated",
    "MembersAdded",
    "DirectChatRequested",
    "ChannelCreated",
    "ChannelSubscribed",
];
/// Event types that take one user out of a chat.
pub const LEAVE_TYPES: [&str; 3] = ["MemberRemoved", "MemberLeft", "ChannelUnsubscribed"];
/// Every event type that changes who is in a chat (the gateway routes by
/// them, its resume looks them up, a partial index of the store's holds
/// exactly these).
pub const MEMBERSHIP_TYPES: [&str; 8] = [
    JOIN_TYPES[0],
    JOIN_TYPES[1],
    JOIN_TYPES[2],
    JOIN_TYPES[3],
    JOIN_TYPES[4],
    LEAVE_TYPES[0],
    LEAVE_TYPES[1],
    LEAVE_TYPES[2],
];
/// Event types that change a direct chat's standing.
pub const DIRECT_STATE_TYPES: [&str; 4] = [
    "ChatRequestAccepted",
    "ChatRequestRejected",
    "DirectChatBlocked",
    "DirectChatUnblocked",
];
/// Event types that move one member's marker (`user_id`, `up_to_seq`):
/// receipts, shown to others only under the mutual receipts rule.
pub const MARKER_TYPES: [&str; 2] = ["ReadMarkerMoved", "DeliveryMarkerMoved"];
/// Event types about one message; each carries the message's `seq`.
pub const MESSAGE_TYPES: [&str; 9] = [
    "MessageSent",
    "MessageEdited",
    "MessageDeleted",
    "ReactionAdded",
    "ReactionRemoved",
    "MessagePinned",
    "MessageUnpinned",
    "PollVoted",
    "PollClosed",
];

impl DomainEvent for ChatEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ChatEvent::DirectChatRequested { .. } => "DirectChatRequested",
            ChatEvent::ChatRequestAccepted { .. } => "ChatRequestAccepted",
            ChatEvent::ChatRequestRejected { .. } => "ChatRequestRejected",
            ChatEvent::DirectChatBlocked { .. } => "DirectChatBlocked",
            ChatEvent::DirectChatUnblocked { .. } => "DirectChatUnblocked",
            ChatEvent::GroupCreated { .. } => "GroupCreated",
            ChatEvent::ChannelCreated { .. } => "ChannelCreated",
            ChatEvent::ChannelSubscribed { .. } => "ChannelSubscribed",
            ChatEvent::ChannelUnsubscribed { .. } => "ChannelUnsubscribed",
            ChatEvent::GroupInfoUpdated { .. } => "GroupInfoUpdated",
            ChatEvent::MembersAdded { .. } => "MembersAdded",
            ChatEvent::MemberRemoved { .. } => "MemberRemoved",
            ChatEvent::MemberLeft { .. } => "MemberLeft",
            ChatEvent::AdminPromoted { .. } => "AdminPromoted",
            ChatEvent::AdminDemoted { .. } => "AdminDemoted",
            ChatEvent::InviteCreated { .. } => "InviteCreated",
            ChatEvent::InviteRevoked { .. } => "InviteRevoked",
            ChatEvent::MemberRoleChanged { .. } => "MemberRoleChanged",
            ChatEvent::MemberBanned { .. } => "MemberBanned",
            ChatEvent::MemberUnbanned { .. } => "MemberUnbanned",
            ChatEvent::OwnershipTransferred { .. } => "OwnershipTransferred",
            ChatEvent::GroupClosed { .. } => "GroupClosed",
            ChatEvent::MessageSent { .. } => "MessageSent",
            ChatEvent::MessageEdited { .. } => "MessageEdited",
            ChatEvent::MessageDeleted { .. } => "MessageDeleted",
            ChatEvent::ReactionAdded { .. } => "ReactionAdded",
            ChatEvent::ReactionRemoved { .. } => "ReactionRemoved",
            ChatEvent::MessagePinned { .. } => "MessagePinned",
            ChatEvent::MessageUnpinned { .. } => "MessageUnpinned",
            ChatEvent::PollVoted { .. } => "PollVoted",
            ChatEvent::PollClosed { .. } => "PollClosed",
            ChatEvent::ReadMarkerMoved { .. } => "ReadMarkerMoved",
            ChatEvent::DeliveryMarkerMoved { .. } => "DeliveryMarkerMoved",
        }
    }

    fn schema_version(&self) -> u16 {
        1
    }

    fn subject(&self) -> Option<Uuid> {
        match self {
            ChatEvent::MessageSent { message_id, .. }
            | ChatEvent::MessageEdited { message_id, .. }
            | ChatEvent::MessageDeleted { message_id, .. }
            | ChatEvent::ReactionAdded { message_id, .. }
            | ChatEvent::ReactionRemoved { message_id, .. }
            | ChatEvent::MessagePinned { message_id, .. }
            | ChatEvent::MessageUnpinned { message_id, .. }
            | ChatEvent::PollVoted { message_id, .. }
            | ChatEvent::PollClosed { message_id, .. } => Some(*message_id),
            // Everything about one member: a channel subscriber's record is
            // folded from these ([`super::SubscriberFacts`]), not kept in
            // the state.
            ChatEvent::ChannelCreated {
                owner_id: user_id, ..
            }
            | ChatEvent::ChannelSubscribed { user_id, .. }
            | ChatEvent::ChannelUnsubscribed { user_id, .. }
            | ChatEvent::MemberRemoved { user_id, .. }
            | ChatEvent::MemberRoleChanged { user_id, .. }
            | ChatEvent::ReadMarkerMoved { user_id, .. }
            | ChatEvent::DeliveryMarkerMoved { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    fn creates_subject(&self) -> bool {
        matches!(self, ChatEvent::MessageSent { .. })
    }

    fn redacted(&self) -> Option<(SealKey, Self)> {
        super::personal::redacted(self)
    }

    fn shreds(&self) -> Vec<Shred> {
        super::personal::shreds(self)
    }
}
