//! Roles, ownership and bans in groups.
//!
//! Admins set roles (`admin`, `moderator`, `member`) but never the
//! owner's, who stays an admin until they hand the group over. Moderators
//! delete others' messages (`message_ops`) and ban or unban plain members;
//! admins ban anyone but the owner. A ban removes a current member (a
//! `MemberRemoved` first, so membership follows the removal everywhere) and
//! keeps the user out of every path that adds members until it ends or is
//! lifted.

use time::OffsetDateTime;
use uuid::Uuid;

use super::group::not_a_member;
use super::{Ctx, Decision};
use crate::chat::event::ChatEvent;
use crate::chat::state::Role;
use crate::error::DomainError;

/// Longest ban reason, in characters.
const MAX_REASON_CHARS: usize = 500;

pub(super) fn set_role(ctx: &Ctx<'_>, user_id: Uuid, role: Role) -> Decision {
    let group = ctx.admin()?;
    let target = ctx.chat.member(user_id).ok_or_else(not_a_member)?;
    if user_id == group.owner {
        return Err(DomainError::forbidden(
            "cannot_demote_owner",
            "the owner's role cannot change; transfer ownership first",
        ));
    }
    if target.role == role {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::MemberRoleChanged {
        chat_id: ctx.chat_id(),
        user_id,
        role,
        by: ctx.actor,
        at: ctx.at,
    }])
}

/// The owner hands the group to another member, who becomes an admin if
/// not one already; the former owner stays an admin.
pub(super) fn transfer(ctx: &Ctx<'_>, user_id: Uuid) -> Decision {
    let group = ctx.admin()?;
    if group.owner != ctx.actor {
        return Err(DomainError::forbidden(
            "not_the_owner",
            "only the owner may hand the group over",
        ));
    }
    let target = ctx.chat.member(user_id).ok_or_else(not_a_member)?;
    if user_id == ctx.actor {
        return Ok(Vec::new());
    }
    let (chat_id, at) = (ctx.chat_id(), ctx.at);
    let mut events = Vec::new();
    if target.role != Role::Admin {
        events.push(ChatEvent::MemberRoleChanged {
            chat_id,
            user_id,
            role: Role::Admin,
            by: ctx.actor,
            at,
        });
    }
    events.push(ChatEvent::OwnershipTransferred {
        chat_id,
        previous_owner_id: ctx.actor,
        new_owner_id: user_id,
        at,
    });
    Ok(events)
}

/// Who may ban or unban `user_id`: admins anyone but the owner (and
/// themselves), moderators plain members only.
fn may_ban(ctx: &Ctx<'_>, user_id: Uuid) -> Result<(), DomainError> {
    let group = ctx.group()?;
    let me = ctx.participant()?;
    let target_role = ctx.chat.member(user_id).map(|m| m.role);
    let allowed = match me.role {
        Role::Admin => user_id != group.owner,
        Role::Moderator => matches!(target_role, None | Some(Role::Member)),
        Role::Member => false,
    };
    if user_id == ctx.actor {
        return Err(DomainError::invalid(
            "cannot_ban_self",
            "user_id",
            "use leave to leave a group",
        ));
    }
    if !allowed {
        return Err(DomainError::forbidden(
            "not_a_moderator",
            "only admins and moderators may ban, and moderators only plain members",
        ));
    }
    Ok(())
}

pub(super) fn ban(
    ctx: &Ctx<'_>,
    user_id: Uuid,
    until: Option<OffsetDateTime>,
    reason: Option<&str>,
) -> Decision {
    may_ban(ctx, user_id)?;
    if until.is_some_and(|end| end <= ctx.at) {
        return Err(DomainError::invalid(
            "ban_until_in_past",
            "until",
            "a timed ban must end in the future",
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason {
        crate::rules::printable(r, "reason", false)?;
        if r.chars().count() > MAX_REASON_CHARS {
            return Err(DomainError::invalid(
                "reason_too_long",
                "reason",
                format!("a reason has at most {MAX_REASON_CHARS} characters"),
            ));
        }
    }
    let (chat_id, at) = (ctx.chat_id(), ctx.at);
    let mut events = Vec::new();
    if ctx.chat.is_participant(user_id) {
        events.push(ChatEvent::MemberRemoved {
            chat_id,
            user_id,
            by: ctx.actor,
            at,
        });
    } else if ctx.chat.banned.get(&user_id) == Some(&until) {
        return Ok(Vec::new());
    }
    events.push(ChatEvent::MemberBanned {
        chat_id,
        user_id,
        by: ctx.actor,
        until,
        reason: reason.map(str::to_owned),
        at,
    });
    Ok(events)
}

pub(super) fn unban(ctx: &Ctx<'_>, user_id: Uuid) -> Decision {
    may_ban(ctx, user_id)?;
    if !ctx.chat.banned.contains_key(&user_id) {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::MemberUnbanned {
        chat_id: ctx.chat_id(),
        user_id,
        by: ctx.actor,
        at: ctx.at,
    }])
}
