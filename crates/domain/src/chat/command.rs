//! Commands on a chat.
//!
//! The clock, fresh ids and everything the chat stream cannot know (the other
//! user's blocks and settings, facts about existing messages) come in with
//! the command, so `decide` stays pure.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::message::{ForwardSource, MediaRef, MessageFacts, MessageKind};
use crate::poll::{Location, PollSpec};

use super::SubscriberFacts;

/// One command: who, when, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatCommand {
    pub actor: Uuid,
    pub at: OffsetDateTime,
    pub action: ChatAction,
    /// In a channel, the records of the actor and of the user the command
    /// is about, folded from the events about them; empty elsewhere.
    pub subscribers: Vec<SubscriberFacts>,
}

impl ChatCommand {
    /// A command with no subscriber records (direct chats, groups).
    pub fn new(actor: Uuid, at: OffsetDateTime, action: ChatAction) -> ChatCommand {
        ChatCommand {
            actor,
            at,
            action,
            subscribers: Vec::new(),
        }
    }

    /// The users whose subscriber records the command needs: the actor,
    /// and whom it is about.
    pub fn concerned(actor: Uuid, action: &ChatAction) -> Vec<Uuid> {
        let target = match action {
            ChatAction::RemoveMember { user_id }
            | ChatAction::SetRole { user_id, .. }
            | ChatAction::TransferOwnership { user_id }
            | ChatAction::Ban { user_id, .. }
            | ChatAction::PromoteAdmin { user_id }
            | ChatAction::DemoteAdmin { user_id } => Some(*user_id),
            _ => None,
        };
        std::iter::once(actor).chain(target).collect()
    }
}

/// What the actor wants to happen in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "commands are built once per request and moved, never stored in bulk"
)]
pub enum ChatAction {
    /// Create (or get) the direct chat with `recipient`; the actor requests.
    StartDirect {
        /// Must be `ids::direct_chat_id(actor, recipient)`.
        chat_id: Uuid,
        recipient: Uuid,
        /// From the recipient's user stream.
        recipient_blocked_requester: bool,
        /// From the actor's user stream.
        requester_blocked_recipient: bool,
        /// From the recipient's settings.
        recipient_accepts_requests: bool,
    },
    AcceptRequest,
    RejectRequest,
    BlockChat,
    UnblockChat,
    CreateGroup {
        chat_id: Uuid,
        title: String,
        description: Option<String>,
        /// Other members; the creator is added (first) automatically.
        member_ids: Vec<Uuid>,
        /// What the decision needs to know of each of them (loaded by the
        /// caller for every member; one absent counts as willing).
        invitees: Vec<Invitee>,
    },
    /// `None` leaves a field as is; a blank description or avatar clears it.
    UpdateGroupInfo {
        title: Option<String>,
        description: Option<String>,
        avatar_url: Option<String>,
    },
    AddMembers {
        user_ids: Vec<Uuid>,
        /// As for `CreateGroup`.
        invitees: Vec<Invitee>,
    },
    RemoveMember {
        user_id: Uuid,
    },
    PromoteAdmin {
        user_id: Uuid,
    },
    DemoteAdmin {
        user_id: Uuid,
    },
    /// Make an invite link (admins); `code_hash` is the SHA-256 of a code
    /// the shell drew at random.
    CreateInvite {
        code_hash: String,
        max_uses: Option<u32>,
        expires_at: Option<OffsetDateTime>,
    },
    RevokeInvite {
        code_hash: String,
    },
    /// The actor joins through an invite link.
    JoinByInvite {
        code_hash: String,
    },
    /// Create a channel; the actor owns it.
    CreateChannel {
        chat_id: Uuid,
        title: String,
        description: Option<String>,
        public: bool,
    },
    /// Subscribe to a public channel without a link.
    Subscribe,
    /// Set a member's role (admins; never the owner's).
    SetRole {
        user_id: Uuid,
        role: crate::chat::Role,
    },
    /// Hand the group to another member (the owner).
    TransferOwnership {
        user_id: Uuid,
    },
    /// Ban a user: removed if a member, refused on every path that adds
    /// members until `until` or until unbanned.
    Ban {
        user_id: Uuid,
        until: Option<OffsetDateTime>,
        reason: Option<String>,
    },
    Unban {
        user_id: Uuid,
    },
    Leave,
    SendMessage {
        /// Must be `ids::message_id(chat, actor, client_msg_id)`.
        message_id: Uuid,
        client_msg_id: String,
        /// Ignored for forwards, which copy the source's kind.
        kind: MessageKind,
        text: Option<String>,
        media: Option<MediaRef>,
        reply_to: Option<MessageFacts>,
        forward_of: Option<ForwardSource>,
        /// Facts of `message_id` if it was already sent: the command is a resend.
        existing: Option<MessageFacts>,
        /// Whether the direct-chat peer has blocked the actor (user level).
        blocked_by_peer: bool,
        /// Users the client mentions explicitly (each must be a member).
        mentions: Vec<Uuid>,
        /// Users the text's `@username`s resolved to ([`crate::mentions`]).
        named: Vec<Uuid>,
        /// The body of a `poll` message.
        poll: Option<PollSpec>,
        /// The body of a `location` message.
        location: Option<Location>,
    },
    EditMessage {
        message: MessageFacts,
        text: String,
        /// As for `SendMessage`: an edit reaches the peer like a message.
        blocked_by_peer: bool,
    },
    DeleteForEveryone {
        message: MessageFacts,
    },
    AddReaction {
        message: MessageFacts,
        emoji: String,
        /// As for `SendMessage`: a reaction reaches the peer like a message.
        blocked_by_peer: bool,
    },
    RemoveReaction {
        message: MessageFacts,
        emoji: String,
    },
    PinMessage {
        message: MessageFacts,
        /// As for `SendMessage`: a pin reaches the peer like a message.
        blocked_by_peer: bool,
    },
    UnpinMessage {
        message_id: Uuid,
    },
    /// The actor's whole ballot on a poll (empty retracts).
    Vote {
        message: MessageFacts,
        option_ids: Vec<u32>,
    },
    /// The author closes their poll.
    ClosePoll {
        message: MessageFacts,
    },
    MarkRead {
        up_to_seq: u64,
    },
    /// The actor's devices received everything up to `up_to_seq`.
    MarkDelivered {
        up_to_seq: u64,
    },
}

/// A user someone wants to put into a group, as their own stream and the
/// pair's direct chat say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invitee {
    pub user_id: Uuid,
    /// They blocked the one adding them.
    pub blocks_actor: bool,
    /// Their `accept_requests_from` lets strangers reach them.
    pub accepts_requests: bool,
    /// They and the one adding them share an accepted direct chat.
    pub contact: bool,
}

impl Invitee {
    /// Membership is contact: nobody is put into a group by someone they
    /// blocked, nor by a stranger when they accept requests from nobody.
    pub fn refuses(&self) -> bool {
        self.blocks_actor || (!self.accepts_requests && !self.contact)
    }
}
