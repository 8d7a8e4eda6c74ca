//! Deciding chat commands.
//!
//! Dispatch and the guards every handler shares live here; the rules live
//! next to their resource: `direct` (requests, blocks), `group` (membership,
//! roles, info), `send` (new messages), `message_ops` (edits, deletes,
//! reactions, pins, read markers).
//!
//! Commands that reference an existing message carry its [`MessageFacts`],
//! folded by the caller from the events with that message as `subject`. The
//! guards here check those facts belong to this chat and are visible to the
//! actor, so a forged or stale reference is refused as "not found".

mod channels;
mod direct;
mod group;
mod invites;
mod message_ops;
mod polls;
mod roles;
mod send;

use time::OffsetDateTime;
use uuid::Uuid;

use super::SubscriberFacts;
use super::command::{ChatAction, ChatCommand};
use super::event::ChatEvent;
use super::state::{Chat, ChatKind, DirectPart, GroupPart, Member};
use crate::error::DomainError;
use crate::message::MessageFacts;
use crate::policy::Policy;

pub(super) type Decision = Result<Vec<ChatEvent>, DomainError>;

/// The command's context: state, actor, clock and policy.
pub(super) struct Ctx<'a> {
    pub chat: &'a Chat,
    pub actor: Uuid,
    pub at: OffsetDateTime,
    pub policy: &'a Policy,
}

pub(super) fn decide(chat: &Chat, cmd: &ChatCommand, policy: &Policy) -> Decision {
    // A channel is judged with the records of the subscribers concerned.
    let view;
    let chat = if chat.is_channel() {
        view = SubscriberFacts::view(chat, &cmd.subscribers);
        &view
    } else {
        chat
    };
    let ctx = Ctx {
        chat,
        actor: cmd.actor,
        at: cmd.at,
        policy,
    };
    if chat.is_closed() {
        return Err(DomainError::conflict("chat_closed", "the group is closed"));
    }
    let creates = matches!(
        cmd.action,
        ChatAction::StartDirect { .. }
            | ChatAction::CreateGroup { .. }
            | ChatAction::CreateChannel { .. }
    );
    if !creates && !chat.exists() {
        return Err(chat_not_found());
    }
    match &cmd.action {
        ChatAction::StartDirect {
            chat_id,
            recipient,
            recipient_blocked_requester,
            requester_blocked_recipient,
            recipient_accepts_requests,
        } => direct::start(
            &ctx,
            *chat_id,
            *recipient,
            direct::UserLevel {
                recipient_blocked_requester: *recipient_blocked_requester,
                requester_blocked_recipient: *requester_blocked_recipient,
                recipient_accepts_requests: *recipient_accepts_requests,
            },
        ),
        ChatAction::AcceptRequest => direct::answer(&ctx, true),
        ChatAction::RejectRequest => direct::answer(&ctx, false),
        ChatAction::BlockChat => direct::block(&ctx, true),
        ChatAction::UnblockChat => direct::block(&ctx, false),
        ChatAction::CreateGroup {
            chat_id,
            title,
            description,
            member_ids,
            invitees,
        } => {
            group::consented(member_ids, invitees)?;
            group::create(&ctx, *chat_id, title, description.as_deref(), member_ids)
        }
        ChatAction::UpdateGroupInfo {
            title,
            description,
            avatar_url,
        } => group::update_info(
            &ctx,
            title.as_deref(),
            description.as_deref(),
            avatar_url.as_deref(),
        ),
        ChatAction::AddMembers { user_ids, invitees } => {
            group::consented(user_ids, invitees)?;
            group::add_members(&ctx, user_ids)
        }
        ChatAction::RemoveMember { user_id } => group::remove_member(&ctx, *user_id),
        ChatAction::PromoteAdmin { user_id } => group::set_admin(&ctx, *user_id, true),
        ChatAction::DemoteAdmin { user_id } => group::set_admin(&ctx, *user_id, false),
        ChatAction::Leave if chat.is_channel() => channels::unsubscribe(&ctx),
        ChatAction::Leave => group::leave(&ctx),
        ChatAction::CreateChannel {
            chat_id,
            title,
            description,
            public,
        } => channels::create(&ctx, *chat_id, title, description.as_deref(), *public),
        ChatAction::Subscribe => channels::subscribe(&ctx, None),
        ChatAction::JoinByInvite { code_hash } if chat.is_channel() => {
            channels::subscribe(&ctx, Some(code_hash))
        }
        ChatAction::CreateInvite {
            code_hash,
            max_uses,
            expires_at,
        } => invites::create(&ctx, code_hash, *max_uses, *expires_at),
        ChatAction::RevokeInvite { code_hash } => invites::revoke(&ctx, code_hash),
        ChatAction::JoinByInvite { code_hash } => invites::join(&ctx, code_hash),
        ChatAction::SetRole { user_id, role } => roles::set_role(&ctx, *user_id, *role),
        ChatAction::TransferOwnership { user_id } => roles::transfer(&ctx, *user_id),
        ChatAction::Ban {
            user_id,
            until,
            reason,
        } => roles::ban(&ctx, *user_id, *until, reason.as_deref()),
        ChatAction::Unban { user_id } => roles::unban(&ctx, *user_id),
        ChatAction::SendMessage {
            message_id,
            client_msg_id,
            kind,
            text,
            media,
            reply_to,
            forward_of,
            existing,
            blocked_by_peer,
            mentions,
            named,
            poll,
            location,
        } => send::send(
            &ctx,
            &send::SendArgs {
                message_id: *message_id,
                client_msg_id,
                kind: *kind,
                text: text.as_deref(),
                media: media.as_ref(),
                reply_to: reply_to.as_ref(),
                forward_of: forward_of.as_ref(),
                existing: existing.as_ref(),
                blocked_by_peer: *blocked_by_peer,
                mentions,
                named,
                poll: poll.as_ref(),
                location: location.as_ref(),
            },
        ),
        ChatAction::EditMessage {
            message,
            text,
            blocked_by_peer,
        } => message_ops::edit(&ctx, message, text, *blocked_by_peer),
        ChatAction::DeleteForEveryone { message } => message_ops::delete(&ctx, message),
        ChatAction::AddReaction {
            message,
            emoji,
            blocked_by_peer,
        } => message_ops::react(&ctx, message, emoji, Some(*blocked_by_peer)),
        ChatAction::RemoveReaction { message, emoji } => {
            message_ops::react(&ctx, message, emoji, None)
        }
        ChatAction::PinMessage {
            message,
            blocked_by_peer,
        } => message_ops::pin(&ctx, message, *blocked_by_peer),
        ChatAction::UnpinMessage { message_id } => message_ops::unpin(&ctx, *message_id),
        ChatAction::Vote {
            message,
            option_ids,
        } => polls::vote(&ctx, message, option_ids),
        ChatAction::ClosePoll { message } => polls::close(&ctx, message),
        ChatAction::MarkRead { up_to_seq } => message_ops::mark_read(&ctx, *up_to_seq),
        ChatAction::MarkDelivered { up_to_seq } => message_ops::mark_delivered(&ctx, *up_to_seq),
    }
}

pub(super) fn chat_not_found() -> DomainError {
    DomainError::not_found("chat_not_found", "no such chat, or you are not in it")
}

pub(super) fn message_not_found() -> DomainError {
    DomainError::not_found("message_not_found", "no such message in this chat")
}

pub(super) fn message_deleted() -> DomainError {
    DomainError::conflict("message_deleted", "the message was deleted")
}

impl Ctx<'_> {
    pub fn chat_id(&self) -> Uuid {
        self.chat.id
    }

    /// The actor as a current participant; others may not even see the chat.
    pub fn participant(&self) -> Result<&Member, DomainError> {
        self.chat.member(self.actor).ok_or_else(chat_not_found)
    }

    pub fn direct(&self) -> Result<&DirectPart, DomainError> {
        self.chat.direct.as_ref().ok_or_else(|| {
            DomainError::invalid("not_a_direct_chat", None, "only direct chats have this")
        })
    }

    pub fn group(&self) -> Result<&GroupPart, DomainError> {
        self.chat
            .group
            .as_ref()
            .ok_or_else(|| DomainError::invalid("not_a_group", None, "only groups have this"))
    }

    /// A participant of a group who is an admin.
    pub fn admin(&self) -> Result<&GroupPart, DomainError> {
        let member = self.participant()?;
        let group = self.group()?;
        if member.role != super::state::Role::Admin {
            return Err(DomainError::forbidden(
                "not_an_admin",
                "only group admins may do this",
            ));
        }
        Ok(group)
    }

    pub fn is_group(&self) -> bool {
        self.chat.kind == Some(ChatKind::Group)
    }

    /// The referenced message is in this chat and the actor can see it.
    pub fn visible(&self, message: &MessageFacts) -> Result<(), DomainError> {
        if message.chat_id == self.chat.id && self.chat.can_see(self.actor, message.seq) {
            Ok(())
        } else {
            Err(message_not_found())
        }
    }

    /// A direct-chat peer's user-level block, or their deleted account
    /// ([`crate::User::refuses_writes_from`]), stops the actor's writes
    /// toward them (messages, edits, reactions, pins). Groups are not
    /// affected.
    pub fn not_blocked_by_peer(&self, blocked_by_peer: bool) -> Result<(), DomainError> {
        if blocked_by_peer && self.chat.direct.is_some() {
            return Err(blocked());
        }
        Ok(())
    }

    /// Chat-level and user-level blocks of a direct chat stop the actor from
    /// writing into it. Groups are not affected.
    pub fn not_blocked(&self, blocked_by_peer: bool) -> Result<(), DomainError> {
        let Some(d) = self.chat.direct.as_ref() else {
            return Ok(());
        };
        if d.blocked_by.contains(&self.actor) {
            return Err(DomainError::forbidden(
                "you_blocked_chat",
                "you have blocked this chat",
            ));
        }
        if d.is_blocked() || blocked_by_peer {
            return Err(blocked());
        }
        Ok(())
    }
}

fn blocked() -> DomainError {
    DomainError::forbidden(
        "blocked",
        "you cannot write to this person: they blocked you or deleted their account",
    )
}
