//! Sending messages.
//!
//! The message id is derived from `(chat, sender, client_msg_id)`, so a resend
//! of the same client message has the same id; the caller probes the subject
//! index for it and passes what it found as `existing`, and the resend decides
//! nothing. Replies and forwards are validated from the facts passed in, never
//! from state held by the chat.

use uuid::Uuid;

use super::{Ctx, Decision, message_deleted, message_not_found};
use crate::chat::event::ChatEvent;
use crate::chat::state::DirectStatus;
use crate::error::DomainError;
use crate::ids;
use crate::mentions;
use crate::message::{ForwardRef, ForwardSource, MediaRef, MessageFacts, MessageKind, ReplyRef};
use crate::poll::{Location, Poll, PollSpec};
use crate::rules;

/// Borrowed fields of `ChatAction::SendMessage`.
pub(super) struct SendArgs<'a> {
    pub message_id: Uuid,
    pub client_msg_id: &'a str,
    pub kind: MessageKind,
    pub text: Option<&'a str>,
    pub media: Option<&'a MediaRef>,
    pub reply_to: Option<&'a MessageFacts>,
    pub forward_of: Option<&'a ForwardSource>,
    pub existing: Option<&'a MessageFacts>,
    pub blocked_by_peer: bool,
    pub mentions: &'a [Uuid],
    pub named: &'a [Uuid],
    pub poll: Option<&'a PollSpec>,
    pub location: Option<&'a Location>,
}

/// The body of the new message.
#[derive(Default)]
struct Content {
    kind: MessageKind,
    text: Option<String>,
    media: Option<MediaRef>,
    forward_of: Option<ForwardRef>,
    poll: Option<Poll>,
    location: Option<Location>,
}

pub(super) fn send(ctx: &Ctx<'_>, args: &SendArgs<'_>) -> Decision {
    ctx.participant()?;
    super::channels::may_post(ctx)?;
    rules::client_msg_id(args.client_msg_id)?;
    let expected = ids::message_id(ctx.chat_id(), ctx.actor, args.client_msg_id);
    if args.message_id != expected {
        return Err(DomainError::invalid(
            "message_id_mismatch",
            "message_id",
            "the message id must be derived from the chat, sender and client_msg_id",
        ));
    }
    // Facts about another message are not proof of a resend; ignore them.
    let resend = args
        .existing
        .is_some_and(|e| e.message_id == expected && e.sender_id == ctx.actor);
    if resend {
        return Ok(Vec::new());
    }
    may_write(ctx, args.blocked_by_peer)?;
    let content = content(ctx, args)?;
    let reply_to = args.reply_to.map(|r| reply_ref(ctx, r)).transpose()?;
    let mentions = mentions::resolve(
        |u| ctx.chat.is_participant(u),
        ctx.actor,
        args.mentions,
        args.named,
    )?;
    Ok(vec![ChatEvent::MessageSent {
        chat_id: ctx.chat_id(),
        message_id: args.message_id,
        client_msg_id: args.client_msg_id.to_string(),
        seq: ctx.chat.last_seq.saturating_add(1),
        sender_id: ctx.actor,
        kind: content.kind,
        text: content.text,
        media: content.media,
        reply_to,
        forward_of: content.forward_of,
        mentions,
        poll: content.poll,
        location: content.location,
        at: ctx.at,
    }])
}

/// Direct chats: blocks stop writing; a pending request lets only the
/// requester write (their messages are the request); a rejected one nobody.
fn may_write(ctx: &Ctx<'_>, blocked_by_peer: bool) -> Result<(), DomainError> {
    let Some(d) = ctx.chat.direct.as_ref() else {
        return Ok(());
    };
    ctx.not_blocked(blocked_by_peer)?;
    match d.status {
        DirectStatus::Accepted => Ok(()),
        DirectStatus::Pending if d.requester == ctx.actor => Ok(()),
        DirectStatus::Pending => Err(DomainError::conflict(
            "chat_request_pending",
            "accept the chat request before writing",
        )),
        DirectStatus::Rejected => Err(DomainError::conflict(
            "chat_request_rejected",
            "the chat request was rejected",
        )),
    }
}

fn content(ctx: &Ctx<'_>, args: &SendArgs<'_>) -> Result<Content, DomainError> {
    if let Some(source) = args.forward_of {
        return forward(args, source);
    }
    if matches!(args.kind, MessageKind::Poll | MessageKind::Location)
        || args.poll.is_some()
        || args.location.is_some()
    {
        return structured(args);
    }
    let text = args.text.map(str::to_string);
    if args.kind == MessageKind::Text {
        if args.media.is_some() {
            return Err(DomainError::invalid(
                "media_mismatch",
                "media_id",
                "a text message carries no media",
            ));
        }
        let Some(body) = text.as_deref() else {
            return Err(DomainError::invalid(
                "text_required",
                "text",
                "a text message needs text",
            ));
        };
        rules::text(body, ctx.policy)?;
        return Ok(Content {
            kind: MessageKind::Text,
            text,
            ..Content::default()
        });
    }
    let Some(media) = args.media else {
        return Err(DomainError::invalid(
            "media_required",
            "media_id",
            "a media message needs an uploaded media item",
        ));
    };
    if media.owner_id != ctx.actor || media.kind != args.kind {
        return Err(DomainError::invalid(
            "media_mismatch",
            "media_id",
            "the media must be your own upload of the message's kind",
        ));
    }
    // A blank caption is no caption.
    let caption = text.filter(|t| !t.trim().is_empty());
    if let Some(c) = caption.as_deref() {
        rules::text(c, ctx.policy)?;
    }
    Ok(Content {
        kind: args.kind,
        text: caption,
        media: Some(media.clone()),
        ..Content::default()
    })
}

/// A poll or a location: the body of its kind and nothing else.
fn structured(args: &SendArgs<'_>) -> Result<Content, DomainError> {
    let (poll, location) = match (args.kind, args.poll, args.location) {
        (MessageKind::Poll, Some(p), None) => (Some(p.validate()?), None),
        (MessageKind::Location, None, Some(l)) => (None, Some(l.validate()?)),
        (MessageKind::Poll, ..) | (_, Some(_), _) => {
            return Err(DomainError::invalid(
                "invalid_poll",
                "poll",
                "a poll message (kind poll) carries a poll and nothing else of its kind",
            ));
        }
        _ => {
            return Err(DomainError::invalid(
                "invalid_location",
                "location",
                "a location message (kind location) carries a location and no poll",
            ));
        }
    };
    if args.text.is_some() || args.media.is_some() {
        return Err(DomainError::invalid(
            "media_mismatch",
            "text",
            "a poll or a location carries no text or media",
        ));
    }
    Ok(Content {
        kind: args.kind,
        poll,
        location,
        ..Content::default()
    })
}

/// A forward copies the source's body and records where it came from.
fn forward(args: &SendArgs<'_>, source: &ForwardSource) -> Result<Content, DomainError> {
    if args.text.is_some() || args.media.is_some() {
        return Err(DomainError::invalid(
            "forward_with_content",
            "forward_of",
            "a forward copies its source and carries no text or media of its own",
        ));
    }
    if !source.visible_to_sender {
        return Err(message_not_found());
    }
    let m = &source.message;
    if m.deleted {
        return Err(message_deleted());
    }
    // A poll's votes belong to its chat; a location's point is not in the
    // facts a forward copies.
    if matches!(m.kind, MessageKind::Poll | MessageKind::Location) {
        return Err(DomainError::invalid(
            "not_forwardable",
            "forward_of",
            "polls and locations cannot be forwarded",
        ));
    }
    Ok(Content {
        kind: m.kind,
        text: m.text.clone(),
        media: m.media.clone(),
        forward_of: Some(ForwardRef {
            chat_id: m.chat_id,
            message_id: m.message_id,
            original_sender_id: m.sender_id,
            original_sent_at: m.sent_at,
        }),
        ..Content::default()
    })
}

fn reply_ref(ctx: &Ctx<'_>, target: &MessageFacts) -> Result<ReplyRef, DomainError> {
    ctx.visible(target)?;
    if target.deleted {
        return Err(message_deleted());
    }
    Ok(ReplyRef {
        message_id: target.message_id,
        seq: target.seq,
        sender_id: target.sender_id,
    })
}
