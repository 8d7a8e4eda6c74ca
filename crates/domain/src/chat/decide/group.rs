//! Groups: creation, info, membership and roles.
//!
//! Invariants kept here (and checked by the property test): the owner of an
//! open group is a member and an admin; while members remain there is at
//! least one admin; a group whose last member left is closed for good.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{Ctx, Decision};
use crate::chat::command::Invitee;
use crate::chat::event::ChatEvent;
use crate::chat::state::Role;
use crate::error::DomainError;
use crate::policy::MIN_GROUP_MEMBERS;
use crate::rules;

/// Refuse the whole command if any of `ids` refuses the actor
/// ([`Invitee::refuses`]); nothing is imposed on anyone.
pub(super) fn consented(ids: &[Uuid], invitees: &[Invitee]) -> Result<(), DomainError> {
    let refusing = invitees
        .iter()
        .filter(|i| ids.contains(&i.user_id) && i.refuses())
        .count();
    if refusing == 0 {
        return Ok(());
    }
    Err(DomainError::forbidden(
        "member_refuses",
        format!(
            "{refusing} of these users do not accept being added by you \
             (they blocked you, or accept requests from nobody and are not your contacts)"
        ),
    ))
}

/// A new group's or channel's title and description, checked; refused if
/// the chat exists already.
pub(super) fn new_info(
    ctx: &Ctx<'_>,
    title: &str,
    description: Option<&str>,
) -> Result<(String, Option<String>), DomainError> {
    if ctx.chat.exists() {
        return Err(DomainError::conflict(
            "chat_exists",
            "the chat already exists",
        ));
    }
    let title = rules::title(title, ctx.policy)?;
    let description = match description {
        Some(d) => rules::description(d, ctx.policy)?,
        None => None,
    };
    Ok((title, description))
}

pub(super) fn create(
    ctx: &Ctx<'_>,
    chat_id: Uuid,
    title: &str,
    description: Option<&str>,
    member_ids: &[Uuid],
) -> Decision {
    let (title, description) = new_info(ctx, title, description)?;
    let mut seen = BTreeSet::new();
    let members: Vec<Uuid> = std::iter::once(ctx.actor)
        .chain(member_ids.iter().copied())
        .filter(|id| seen.insert(*id))
        .collect();
    if members.len() < MIN_GROUP_MEMBERS {
        return Err(DomainError::invalid(
            "group_too_small",
            "member_ids",
            format!("a group needs at least {MIN_GROUP_MEMBERS} people including you"),
        ));
    }
    if members.len() > ctx.policy.max_group_members {
        return Err(DomainError::invalid(
            "group_too_large",
            "member_ids",
            format!(
                "a group has at most {} members",
                ctx.policy.max_group_members
            ),
        ));
    }
    Ok(vec![ChatEvent::GroupCreated {
        chat_id,
        owner_id: ctx.actor,
        title,
        description,
        member_ids: members,
        at: ctx.at,
    }])
}

pub(super) fn update_info(
    ctx: &Ctx<'_>,
    title: Option<&str>,
    description: Option<&str>,
    avatar_url: Option<&str>,
) -> Decision {
    let group = ctx.admin()?;
    let new_title = match title {
        Some(t) => rules::title(t, ctx.policy)?,
        None => group.title.clone(),
    };
    let new_description = match description {
        Some(d) => rules::description(d, ctx.policy)?,
        None => group.description.clone(),
    };
    let new_avatar = match avatar_url {
        Some(a) => rules::avatar_url(a)?,
        None => group.avatar_url.clone(),
    };
    if new_title == group.title
        && new_description == group.description
        && new_avatar == group.avatar_url
    {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::GroupInfoUpdated {
        chat_id: ctx.chat_id(),
        by: ctx.actor,
        title: new_title,
        description: new_description,
        avatar_url: new_avatar,
        at: ctx.at,
    }])
}

pub(super) fn add_members(ctx: &Ctx<'_>, user_ids: &[Uuid]) -> Decision {
    ctx.admin()?;
    super::channels::no_adds(ctx)?;
    let mut seen = BTreeSet::new();
    let new: Vec<Uuid> = user_ids
        .iter()
        .copied()
        .filter(|id| !ctx.chat.is_participant(*id) && seen.insert(*id))
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    if new.iter().any(|u| ctx.chat.is_banned(*u, ctx.at)) {
        return Err(DomainError::forbidden(
            "user_banned",
            "a user you add is banned from this group; unban them first",
        ));
    }
    room_for(ctx, new.len())?;
    Ok(vec![ChatEvent::MembersAdded {
        chat_id: ctx.chat_id(),
        user_ids: new,
        by: ctx.actor,
        joined_seq: ctx.chat.last_seq,
        at: ctx.at,
        invite: None,
    }])
}

pub(super) fn remove_member(ctx: &Ctx<'_>, user_id: Uuid) -> Decision {
    let group = ctx.admin()?;
    if user_id == ctx.actor {
        return Err(DomainError::invalid(
            "cannot_remove_self",
            "user_id",
            "use leave to leave a group",
        ));
    }
    if user_id == group.owner {
        return Err(DomainError::forbidden(
            "cannot_remove_owner",
            "the group owner cannot be removed",
        ));
    }
    if !ctx.chat.is_participant(user_id) {
        return Err(not_a_member());
    }
    Ok(vec![ChatEvent::MemberRemoved {
        chat_id: ctx.chat_id(),
        user_id,
        by: ctx.actor,
        at: ctx.at,
    }])
}

/// Promote (`admin = true`) or demote; idempotent.
pub(super) fn set_admin(ctx: &Ctx<'_>, user_id: Uuid, admin: bool) -> Decision {
    let group = ctx.admin()?;
    let target = ctx.chat.member(user_id).ok_or_else(not_a_member)?;
    if !admin && user_id == group.owner {
        return Err(DomainError::forbidden(
            "cannot_demote_owner",
            "the group owner cannot be demoted",
        ));
    }
    let (chat_id, at) = (ctx.chat_id(), ctx.at);
    Ok(match (admin, target.role) {
        (true, Role::Member) => vec![ChatEvent::AdminPromoted {
            chat_id,
            user_id,
            by: Some(ctx.actor),
            at,
        }],
        (false, Role::Admin) => vec![ChatEvent::AdminDemoted {
            chat_id,
            user_id,
            by: ctx.actor,
            at,
        }],
        _ => Vec::new(),
    })
}

/// Leave, handing over what the leaver held: the last admin's role goes to
/// the longest-standing member, the owner's title to the longest-standing
/// admin, and a group nobody is left in closes.
pub(super) fn leave(ctx: &Ctx<'_>) -> Decision {
    ctx.participant()?;
    let group = ctx.group()?;
    let (chat_id, at) = (ctx.chat_id(), ctx.at);
    let mut events = vec![ChatEvent::MemberLeft {
        chat_id,
        user_id: ctx.actor,
        at,
    }];
    let remaining = || ctx.chat.members.iter().filter(|(id, _)| **id != ctx.actor);
    let Some((eldest, _)) = remaining().min_by_key(|(_, m)| m.join_order) else {
        events.push(ChatEvent::GroupClosed { chat_id, at });
        return Ok(events);
    };
    let eldest_admin = remaining()
        .filter(|(_, m)| m.role == Role::Admin)
        .min_by_key(|(_, m)| m.join_order)
        .map(|(id, _)| *id);
    // Promote whenever no admin would remain: normally because the leaver was
    // the last admin, but it also repairs a group that somehow lost its admins.
    let heir = match eldest_admin {
        Some(admin) => admin,
        None => {
            events.push(ChatEvent::AdminPromoted {
                chat_id,
                user_id: *eldest,
                by: None,
                at,
            });
            *eldest
        }
    };
    if group.owner == ctx.actor {
        events.push(ChatEvent::OwnershipTransferred {
            chat_id,
            previous_owner_id: ctx.actor,
            new_owner_id: heir,
            at,
        });
    }
    Ok(events)
}

/// The member cap leaves room for `more` members (every path that adds
/// members asks this).
pub(super) fn room_for(ctx: &Ctx<'_>, more: usize) -> Result<(), DomainError> {
    if ctx.chat.members.len() + more > ctx.policy.max_group_members {
        return Err(DomainError::conflict(
            "group_full",
            format!(
                "a group has at most {} members",
                ctx.policy.max_group_members
            ),
        ));
    }
    Ok(())
}

pub(super) fn not_a_member() -> DomainError {
    DomainError::not_found("not_a_member", "the user is not a member of this group")
}
