//! Direct chats: request, answer, block.
//!
//! The chat id is derived from the pair, so "start" is also "get": starting a
//! chat that already exists decides nothing and the caller returns the chat.
//! Only a rejected request can be started again, and only by the side that
//! rejected it (which then becomes the requester): the rejected requester
//! cannot keep knocking.

use uuid::Uuid;

use super::{Ctx, Decision};
use crate::chat::event::ChatEvent;
use crate::chat::state::{ChatKind, DirectStatus};
use crate::error::DomainError;
use crate::ids::direct_chat_id;

/// What the recipient's and the requester's user streams say.
pub(super) struct UserLevel {
    pub recipient_blocked_requester: bool,
    pub requester_blocked_recipient: bool,
    pub recipient_accepts_requests: bool,
}

pub(super) fn start(ctx: &Ctx<'_>, chat_id: Uuid, recipient: Uuid, users: UserLevel) -> Decision {
    let actor = ctx.actor;
    if recipient == actor {
        return Err(DomainError::invalid(
            "cannot_chat_with_self",
            "recipient_id",
            "a direct chat needs two different users",
        ));
    }
    if chat_id != direct_chat_id(actor, recipient) {
        return Err(DomainError::invalid(
            "chat_id_mismatch",
            "chat_id",
            "the chat id must be derived from the two user ids",
        ));
    }
    if ctx.chat.exists() && ctx.chat.id != chat_id {
        // The caller loaded another stream than the command names.
        return Err(DomainError::invalid(
            "chat_id_mismatch",
            "chat_id",
            "the command names another chat than the one loaded",
        ));
    }
    match (ctx.chat.kind, ctx.chat.direct.as_ref()) {
        (None, _) => {}
        (Some(ChatKind::Direct), Some(d)) => {
            if d.status != DirectStatus::Rejected || d.is_blocked() {
                return Ok(Vec::new());
            }
            if d.requester == actor {
                return Err(DomainError::conflict(
                    "chat_request_rejected",
                    "your chat request was rejected",
                ));
            }
        }
        _ => {
            return Err(DomainError::conflict(
                "chat_exists",
                "the chat already exists",
            ));
        }
    }
    if users.recipient_blocked_requester {
        return Err(DomainError::forbidden("blocked", "you have been blocked"));
    }
    if users.requester_blocked_recipient {
        return Err(DomainError::forbidden(
            "you_blocked_user",
            "you have blocked this user",
        ));
    }
    if !users.recipient_accepts_requests {
        return Err(DomainError::forbidden(
            "requests_not_accepted",
            "the user does not accept chat requests",
        ));
    }
    Ok(vec![ChatEvent::DirectChatRequested {
        chat_id,
        requester_id: actor,
        recipient_id: recipient,
        at: ctx.at,
    }])
}

/// Accept or reject a pending request.
pub(super) fn answer(ctx: &Ctx<'_>, accept: bool) -> Decision {
    ctx.participant()?;
    let d = ctx.direct()?;
    if d.recipient != ctx.actor {
        return Err(DomainError::forbidden(
            "not_the_recipient",
            "only the recipient may answer a chat request",
        ));
    }
    if d.status != DirectStatus::Pending {
        return Err(DomainError::conflict(
            "chat_not_pending",
            "the chat request was already answered",
        ));
    }
    let (chat_id, requester_id, recipient_id, at) =
        (ctx.chat_id(), d.requester, d.recipient, ctx.at);
    Ok(vec![if accept {
        ChatEvent::ChatRequestAccepted {
            chat_id,
            requester_id,
            recipient_id,
            at,
        }
    } else {
        ChatEvent::ChatRequestRejected {
            chat_id,
            requester_id,
            recipient_id,
            at,
        }
    }])
}

/// Block or unblock the chat on the actor's side; idempotent.
pub(super) fn block(ctx: &Ctx<'_>, block: bool) -> Decision {
    ctx.participant()?;
    let d = ctx.direct()?;
    let (chat_id, by, at) = (ctx.chat_id(), ctx.actor, ctx.at);
    let already = d.blocked_by.contains(&by);
    Ok(match (block, already) {
        (true, false) => vec![ChatEvent::DirectChatBlocked { chat_id, by, at }],
        (false, true) => vec![ChatEvent::DirectChatUnblocked { chat_id, by, at }],
        _ => Vec::new(),
    })
}
