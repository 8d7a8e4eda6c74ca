//! Invite links: an admin makes one (optionally limited in uses and
//! time), anyone with the code joins through it, an admin revokes it.
//!
//! The aggregate counts uses from the joins themselves (`MembersAdded`
//! names its invite), and every join is appended against the chat's
//! expected version: concurrent joins past `max_uses` are re-decided on
//! fresh state and refused, so the count is exact.

use time::OffsetDateTime;

use super::{Ctx, Decision};
use crate::chat::event::ChatEvent;
use crate::error::DomainError;

pub(super) fn create(
    ctx: &Ctx<'_>,
    code_hash: &str,
    max_uses: Option<u32>,
    expires_at: Option<OffsetDateTime>,
) -> Decision {
    ctx.admin()?;
    if max_uses == Some(0) {
        return Err(DomainError::invalid(
            "invalid_max_uses",
            "max_uses",
            "an invite needs at least one use",
        ));
    }
    if expires_at.is_some_and(|end| end <= ctx.at) {
        return Err(DomainError::invalid(
            "invite_expiry_in_past",
            "expires_at",
            "an invite must expire in the future",
        ));
    }
    let live = ctx
        .chat
        .invites
        .values()
        .filter(|i| i.usable(ctx.at))
        .count();
    if live >= ctx.policy.max_invites {
        return Err(DomainError::conflict(
            "too_many_invites",
            format!(
                "a group has at most {} live invites",
                ctx.policy.max_invites
            ),
        ));
    }
    if ctx.chat.invites.contains_key(code_hash) {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::InviteCreated {
        chat_id: ctx.chat_id(),
        code_hash: code_hash.to_owned(),
        by: ctx.actor,
        max_uses,
        expires_at,
        at: ctx.at,
    }])
}

pub(super) fn revoke(ctx: &Ctx<'_>, code_hash: &str) -> Decision {
    ctx.admin()?;
    if !ctx.chat.invites.contains_key(code_hash) {
        return Err(invite_not_found());
    }
    Ok(vec![ChatEvent::InviteRevoked {
        chat_id: ctx.chat_id(),
        code_hash: code_hash.to_owned(),
        by: ctx.actor,
        at: ctx.at,
    }])
}

/// Join through a code: a group's usable invite, not banned, under the
/// member cap. A member already in decides nothing.
pub(super) fn join(ctx: &Ctx<'_>, code_hash: &str) -> Decision {
    ctx.group()?;
    let invite = ctx
        .chat
        .invites
        .get(code_hash)
        .ok_or_else(invite_not_found)?;
    if ctx.chat.is_participant(ctx.actor) {
        return Ok(Vec::new());
    }
    if !invite.usable(ctx.at) {
        return Err(DomainError::conflict(
            "invite_used_up",
            "the invite has expired or has no uses left",
        ));
    }
    if ctx.chat.is_banned(ctx.actor, ctx.at) {
        return Err(DomainError::forbidden(
            "user_banned",
            "you are banned from this group",
        ));
    }
    super::group::room_for(ctx, 1)?;
    Ok(vec![ChatEvent::MembersAdded {
        chat_id: ctx.chat_id(),
        user_ids: vec![ctx.actor],
        by: ctx.actor,
        joined_seq: ctx.chat.last_seq,
        at: ctx.at,
        invite: Some(code_hash.to_owned()),
    }])
}

/// Unknown, revoked, or in a chat the caller cannot see: all the same.
fn invite_not_found() -> DomainError {
    DomainError::not_found("invite_not_found", "no such invite")
}
