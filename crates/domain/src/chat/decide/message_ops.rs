//! Edits, deletes, reactions, pins and read markers.
//!
//! Each command carries the target's [`MessageFacts`] (or, for unpin, only
//! its id: pins are the one per-message thing the chat keeps, capped by
//! policy). Per-user reaction idempotency uses the actor's own reactions in
//! the facts.

use uuid::Uuid;

use super::{Ctx, Decision, message_deleted};
use crate::chat::event::ChatEvent;
use crate::chat::state::{ChatKind, DirectStatus};
use crate::error::DomainError;
use crate::message::{MessageFacts, MessageKind};
use crate::rules;

pub(super) fn edit(
    ctx: &Ctx<'_>,
    message: &MessageFacts,
    text: &str,
    blocked_by_peer: bool,
) -> Decision {
    ctx.participant()?;
    ctx.visible(message)?;
    ctx.not_blocked_by_peer(blocked_by_peer)?;
    if message.sender_id != ctx.actor {
        return Err(DomainError::forbidden(
            "not_the_author",
            "only the author may edit a message",
        ));
    }
    if message.deleted {
        return Err(message_deleted());
    }
    if matches!(message.kind, MessageKind::Poll | MessageKind::Location) {
        return Err(DomainError::conflict(
            "message_not_editable",
            "polls and locations cannot be edited",
        ));
    }
    if ctx.at - message.sent_at > ctx.policy.edit_window {
        return Err(DomainError::conflict(
            "edit_window_over",
            "the message is too old to edit",
        ));
    }
    rules::text(text, ctx.policy)?;
    if message.text.as_deref() == Some(text) {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::MessageEdited {
        chat_id: ctx.chat_id(),
        message_id: message.message_id,
        seq: message.seq,
        editor_id: ctx.actor,
        text: text.to_string(),
        at: ctx.at,
    }])
}

/// Delete for everyone. A pinned message is unpinned in the same decision,
/// so projections need not know that rule.
pub(super) fn delete(ctx: &Ctx<'_>, message: &MessageFacts) -> Decision {
    ctx.participant()?;
    ctx.visible(message)?;
    let moderates = ctx.is_group() && ctx.chat.moderates(ctx.actor);
    if message.sender_id != ctx.actor && !moderates {
        return Err(DomainError::forbidden(
            "not_the_author",
            "only the author, a group admin or a moderator may delete a message for everyone",
        ));
    }
    if message.deleted {
        return Ok(Vec::new());
    }
    let (chat_id, message_id, seq, at) = (ctx.chat_id(), message.message_id, message.seq, ctx.at);
    let mut events = vec![ChatEvent::MessageDeleted {
        chat_id,
        message_id,
        seq,
        by: ctx.actor,
        sender_id: message.sender_id,
        at,
    }];
    if ctx.chat.is_pinned(message_id) {
        events.push(ChatEvent::MessageUnpinned {
            chat_id,
            message_id,
            seq,
            by: ctx.actor,
            at,
        });
    }
    Ok(events)
}

/// Add (`Some(blocked_by_peer)`) or remove (`None`) one emoji; idempotent
/// per (user, emoji). Taking a reaction back is not a write toward the peer.
pub(super) fn react(
    ctx: &Ctx<'_>,
    message: &MessageFacts,
    emoji: &str,
    adding: Option<bool>,
) -> Decision {
    let add = adding.is_some();
    ctx.participant()?;
    ctx.visible(message)?;
    ctx.not_blocked(adding.unwrap_or(false))?;
    if message.deleted {
        return Err(message_deleted());
    }
    rules::emoji(emoji)?;
    let mine = &message.reactions_of_actor;
    let has = mine.contains(emoji);
    if add == has {
        return Ok(Vec::new());
    }
    if add && mine.len() >= ctx.policy.max_reactions_per_user {
        return Err(DomainError::conflict(
            "too_many_reactions",
            format!(
                "at most {} different reactions per message",
                ctx.policy.max_reactions_per_user
            ),
        ));
    }
    let (chat_id, message_id, seq, user_id, emoji, at) = (
        ctx.chat_id(),
        message.message_id,
        message.seq,
        ctx.actor,
        emoji.to_string(),
        ctx.at,
    );
    Ok(vec![if add {
        ChatEvent::ReactionAdded {
            chat_id,
            message_id,
            seq,
            user_id,
            emoji,
            at,
        }
    } else {
        ChatEvent::ReactionRemoved {
            chat_id,
            message_id,
            seq,
            user_id,
            emoji,
            at,
        }
    }])
}

/// Admins pin in groups; either side pins in an accepted, unblocked direct chat.
fn may_pin(ctx: &Ctx<'_>, blocked_by_peer: bool) -> Result<(), DomainError> {
    ctx.participant()?;
    match ctx.chat.kind {
        Some(ChatKind::Group) => ctx.admin().map(|_| ()),
        _ => {
            ctx.not_blocked(blocked_by_peer)?;
            let d = ctx.direct()?;
            if d.status != DirectStatus::Accepted {
                return Err(DomainError::conflict(
                    "chat_not_accepted",
                    "the chat request has not been accepted",
                ));
            }
            Ok(())
        }
    }
}

pub(super) fn pin(ctx: &Ctx<'_>, message: &MessageFacts, blocked_by_peer: bool) -> Decision {
    may_pin(ctx, blocked_by_peer)?;
    super::channels::may_post(ctx)?;
    ctx.visible(message)?;
    if message.deleted {
        return Err(message_deleted());
    }
    if ctx.chat.is_pinned(message.message_id) {
        return Ok(Vec::new());
    }
    if ctx.chat.pinned.len() >= ctx.policy.max_pins {
        return Err(DomainError::conflict(
            "too_many_pins",
            format!("at most {} pinned messages per chat", ctx.policy.max_pins),
        ));
    }
    Ok(vec![ChatEvent::MessagePinned {
        chat_id: ctx.chat_id(),
        message_id: message.message_id,
        seq: message.seq,
        by: ctx.actor,
        at: ctx.at,
    }])
}

pub(super) fn unpin(ctx: &Ctx<'_>, message_id: Uuid) -> Decision {
    may_pin(ctx, false)?;
    super::channels::may_post(ctx)?;
    Ok(match ctx.chat.pinned.get(&message_id) {
        Some(seq) => vec![ChatEvent::MessageUnpinned {
            chat_id: ctx.chat_id(),
            message_id,
            seq: *seq,
            by: ctx.actor,
            at: ctx.at,
        }],
        None => Vec::new(),
    })
}

/// Move the actor's read marker forward; never backwards.
pub(super) fn mark_read(ctx: &Ctx<'_>, up_to_seq: u64) -> Decision {
    let me = ctx.participant()?;
    in_range(ctx, up_to_seq)?;
    if up_to_seq <= me.read_up_to {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::ReadMarkerMoved {
        chat_id: ctx.chat_id(),
        user_id: ctx.actor,
        up_to_seq,
        at: ctx.at,
    }])
}

/// Delivery never moves back, and reading implies it: an ack at or below
/// what the member already read (or acked) decides nothing.
pub(super) fn mark_delivered(ctx: &Ctx<'_>, up_to_seq: u64) -> Decision {
    let me = ctx.participant()?;
    in_range(ctx, up_to_seq)?;
    if up_to_seq <= me.delivered() {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::DeliveryMarkerMoved {
        chat_id: ctx.chat_id(),
        user_id: ctx.actor,
        up_to_seq,
        at: ctx.at,
    }])
}

fn in_range(ctx: &Ctx<'_>, up_to_seq: u64) -> Result<(), DomainError> {
    if up_to_seq > ctx.chat.last_seq {
        return Err(DomainError::invalid(
            "seq_out_of_range",
            "up_to_seq",
            format!("the last message is seq {}", ctx.chat.last_seq),
        ));
    }
    Ok(())
}
