//! Channels: admins post, subscribers read, react and mark read; no member
//! cap. Subscribing is the subscriber's own act: to a public channel
//! directly, to any channel through an invite link.
//!
//! Everything else a channel shares with groups (info, invites, roles,
//! bans, pins, messages) is decided by the same rules, on the state with
//! the concerned subscribers' records put in (`SubscriberFacts::view`).

use uuid::Uuid;

use super::{Ctx, Decision};
use crate::chat::event::ChatEvent;
use crate::error::DomainError;

pub(super) fn create(
    ctx: &Ctx<'_>,
    chat_id: Uuid,
    title: &str,
    description: Option<&str>,
    public: bool,
) -> Decision {
    let (title, description) = super::group::new_info(ctx, title, description)?;
    Ok(vec![ChatEvent::ChannelCreated {
        chat_id,
        owner_id: ctx.actor,
        title,
        description,
        public,
        at: ctx.at,
    }])
}

/// Subscribe the actor: to a public channel, or through a usable invite
/// (`code_hash`); never while banned. Already subscribed decides nothing.
pub(super) fn subscribe(ctx: &Ctx<'_>, code_hash: Option<&str>) -> Decision {
    let channel = ctx.group()?;
    if !ctx.chat.is_channel() {
        return Err(not_a_channel());
    }
    let invite = match code_hash {
        Some(h) => Some(
            ctx.chat
                .invites
                .get(h)
                .ok_or_else(|| DomainError::not_found("invite_not_found", "no such invite"))?,
        ),
        None => None,
    };
    if ctx.chat.is_participant(ctx.actor) {
        return Ok(Vec::new());
    }
    match invite {
        Some(i) if !i.usable(ctx.at) => {
            return Err(DomainError::conflict(
                "invite_used_up",
                "the invite has expired or has no uses left",
            ));
        }
        // Without a link, a private channel is as good as absent.
        None if !channel.public => return Err(super::chat_not_found()),
        _ => {}
    }
    if ctx.chat.is_banned(ctx.actor, ctx.at) {
        return Err(DomainError::forbidden(
            "user_banned",
            "you are banned from this channel",
        ));
    }
    Ok(vec![ChatEvent::ChannelSubscribed {
        chat_id: ctx.chat_id(),
        user_id: ctx.actor,
        last_seq: ctx.chat.last_seq,
        at: ctx.at,
        invite: code_hash.map(str::to_owned),
    }])
}

/// Leave a channel. Its owner hands it over first: a channel lives on with
/// its audience, so it never closes with its owner leaving.
pub(super) fn unsubscribe(ctx: &Ctx<'_>) -> Decision {
    ctx.participant()?;
    if ctx.chat.owner() == Some(ctx.actor) {
        return Err(DomainError::conflict(
            "owner_cannot_leave",
            "hand the channel to another admin first (PUT …/owner)",
        ));
    }
    Ok(vec![ChatEvent::ChannelUnsubscribed {
        chat_id: ctx.chat_id(),
        user_id: ctx.actor,
        at: ctx.at,
    }])
}

/// In a channel only admins post; everyone else reads.
pub(super) fn may_post(ctx: &Ctx<'_>) -> Result<(), DomainError> {
    if ctx.chat.is_channel() && !ctx.chat.is_admin(ctx.actor) {
        return Err(DomainError::forbidden(
            "not_an_admin",
            "only a channel's admins post in it",
        ));
    }
    Ok(())
}

/// Members join a channel by themselves; nobody is added to one.
pub(super) fn no_adds(ctx: &Ctx<'_>) -> Result<(), DomainError> {
    if ctx.chat.is_channel() {
        return Err(DomainError::conflict(
            "channel_join_only",
            "people subscribe to a channel themselves (public, or with an invite link)",
        ));
    }
    Ok(())
}

fn not_a_channel() -> DomainError {
    DomainError::invalid("not_a_channel", None, "only channels have this")
}
