//! System entries: the membership and info changes a chat's history shows
//! between its messages ("Ana added Ben", "Ben left", "Ana pinned a
//! message"), so a client renders them from history alone, without the
//! audit API.
//!
//! An entry is not a message: it takes no seq (seqs stay gapless and
//! unread counts stay "messages after the read marker"), it is placed
//! *after* the message that was last when it happened, and entries after
//! the same message keep the log's order. Which entries a member sees is
//! [`crate::visibility::Span`]: from their own join through their leave,
//! after their last clear; a pin's entry also needs its message to be one
//! they see ([`crate::visibility::message`]), as the socket's pin frame does.
//!
//! Only what everyone in the chat may know goes in: a ban names who and by
//! whom, never the reason (that stays with the admins' ban list).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ChatEvent, Role};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemAction {
    /// The group was created with `user_ids` as its first members.
    Created,
    /// `user_ids` were added by `actor_id`.
    Added,
    /// `actor_id` joined by themselves (through an invite link).
    Joined,
    Left,
    /// `user_ids` were removed by `actor_id`.
    Removed,
    Banned,
    /// `user_ids` now have `role`; `actor_id` is absent when the chat chose
    /// the longest-standing member because the last admin left.
    RoleChanged,
    /// `actor_id` handed ownership to `user_ids`.
    OwnershipTransferred,
    /// Description or picture changed; `title` is the (same) title.
    InfoUpdated,
    /// The title changed to `title`. The event carries only new values, so
    /// the read model tells this from [`SystemAction::InfoUpdated`] by the
    /// previous entry's title.
    Renamed,
    Pinned,
    Unpinned,
    Closed,
}

impl SystemAction {
    /// The name stored and answered (`"role_changed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SystemAction::Created => "created",
            SystemAction::Added => "added",
            SystemAction::Joined => "joined",
            SystemAction::Left => "left",
            SystemAction::Removed => "removed",
            SystemAction::Banned => "banned",
            SystemAction::RoleChanged => "role_changed",
            SystemAction::OwnershipTransferred => "ownership_transferred",
            SystemAction::InfoUpdated => "info_updated",
            SystemAction::Renamed => "renamed",
            SystemAction::Pinned => "pinned",
            SystemAction::Unpinned => "unpinned",
            SystemAction::Closed => "closed",
        }
    }
}

/// Who did what to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemEntry {
    pub action: SystemAction,
    /// Who did it; `None` when the chat itself did (an automatic promotion,
    /// a group closed with its last member).
    pub actor_id: Option<Uuid>,
    /// Whom it was done to; empty for info changes, pins and closing.
    pub user_ids: Vec<Uuid>,
    /// The new title (creation, info changes).
    pub title: Option<String>,
    /// The new role (role changes).
    pub role: Option<Role>,
    /// The message pinned or unpinned, and its seq: the entry shows only
    /// to whoever sees that message.
    pub message_id: Option<Uuid>,
    pub message_seq: Option<u64>,
}

impl SystemEntry {
    fn new(action: SystemAction, actor_id: Option<Uuid>, user_ids: Vec<Uuid>) -> SystemEntry {
        SystemEntry {
            action,
            actor_id,
            user_ids,
            title: None,
            role: None,
            message_id: None,
            message_seq: None,
        }
    }
}

/// The entry `event` shows in history, if it shows one. Messages, markers,
/// reactions, votes, invites, unbans, direct-chat requests and channel
/// subscriptions show none (they have their own places, or concern one
/// person).
pub fn entry(event: &ChatEvent) -> Option<SystemEntry> {
    use SystemAction as A;
    let e = match event {
        ChatEvent::GroupCreated {
            owner_id,
            title,
            member_ids,
            ..
        } => SystemEntry {
            title: Some(title.clone()),
            ..SystemEntry::new(A::Created, Some(*owner_id), member_ids.clone())
        },
        ChatEvent::ChannelCreated {
            owner_id, title, ..
        } => SystemEntry {
            title: Some(title.clone()),
            ..SystemEntry::new(A::Created, Some(*owner_id), vec![*owner_id])
        },
        ChatEvent::MembersAdded { user_ids, by, .. } => {
            let action = if user_ids.as_slice() == [*by] {
                A::Joined
            } else {
                A::Added
            };
            SystemEntry::new(action, Some(*by), user_ids.clone())
        }
        ChatEvent::MemberLeft { user_id, .. } => {
            SystemEntry::new(A::Left, Some(*user_id), vec![*user_id])
        }
        ChatEvent::MemberRemoved { user_id, by, .. } => {
            SystemEntry::new(A::Removed, Some(*by), vec![*user_id])
        }
        ChatEvent::MemberBanned { user_id, by, .. } => {
            SystemEntry::new(A::Banned, Some(*by), vec![*user_id])
        }
        ChatEvent::AdminPromoted { user_id, by, .. } => role(*by, *user_id, Role::Admin),
        ChatEvent::AdminDemoted { user_id, by, .. } => role(Some(*by), *user_id, Role::Member),
        ChatEvent::MemberRoleChanged {
            user_id,
            role: r,
            by,
            ..
        } => role(Some(*by), *user_id, *r),
        ChatEvent::OwnershipTransferred {
            previous_owner_id,
            new_owner_id,
            ..
        } => SystemEntry::new(
            A::OwnershipTransferred,
            Some(*previous_owner_id),
            vec![*new_owner_id],
        ),
        ChatEvent::GroupInfoUpdated { by, title, .. } => SystemEntry {
            title: Some(title.clone()),
            ..SystemEntry::new(A::InfoUpdated, Some(*by), Vec::new())
        },
        ChatEvent::MessagePinned {
            message_id,
            seq,
            by,
            ..
        } => SystemEntry {
            message_id: Some(*message_id),
            message_seq: Some(*seq),
            ..SystemEntry::new(A::Pinned, Some(*by), Vec::new())
        },
        ChatEvent::MessageUnpinned {
            message_id,
            seq,
            by,
            ..
        } => SystemEntry {
            message_id: Some(*message_id),
            message_seq: Some(*seq),
            ..SystemEntry::new(A::Unpinned, Some(*by), Vec::new())
        },
        ChatEvent::GroupClosed { .. } => SystemEntry::new(A::Closed, None, Vec::new()),
        ChatEvent::DirectChatRequested { .. }
        | ChatEvent::ChatRequestAccepted { .. }
        | ChatEvent::ChatRequestRejected { .. }
        | ChatEvent::DirectChatBlocked { .. }
        | ChatEvent::DirectChatUnblocked { .. }
        | ChatEvent::InviteCreated { .. }
        | ChatEvent::InviteRevoked { .. }
        | ChatEvent::MemberUnbanned { .. }
        // A channel's audience comes and goes unannounced, as in every
        // broadcast medium; only what its admins do shows.
        | ChatEvent::ChannelSubscribed { .. }
        | ChatEvent::ChannelUnsubscribed { .. }
        | ChatEvent::MessageSent { .. }
        | ChatEvent::MessageEdited { .. }
        | ChatEvent::MessageDeleted { .. }
        | ChatEvent::ReactionAdded { .. }
        | ChatEvent::ReactionRemoved { .. }
        | ChatEvent::PollVoted { .. }
        | ChatEvent::PollClosed { .. }
        | ChatEvent::ReadMarkerMoved { .. }
        | ChatEvent::DeliveryMarkerMoved { .. } => return None,
    };
    Some(e)
}

fn role(by: Option<Uuid>, user: Uuid, role: Role) -> SystemEntry {
    SystemEntry {
        role: Some(role),
        ..SystemEntry::new(SystemAction::RoleChanged, by, vec![user])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn at() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn a_join_through_a_link_is_joined_and_an_admins_add_is_added() {
        let (chat_id, ana, ben) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let join = ChatEvent::MembersAdded {
            chat_id,
            user_ids: vec![ben],
            by: ben,
            joined_seq: 3,
            at: at(),
            invite: None,
        };
        assert_eq!(entry(&join).unwrap().action, SystemAction::Joined);
        let add = ChatEvent::MembersAdded {
            chat_id,
            user_ids: vec![ben],
            by: ana,
            joined_seq: 3,
            at: at(),
            invite: None,
        };
        let e = entry(&add).unwrap();
        assert_eq!(
            (e.action, e.actor_id, e.user_ids),
            (SystemAction::Added, Some(ana), vec![ben])
        );
    }

    #[test]
    fn a_ban_shows_who_and_by_whom_never_the_reason() {
        let (chat_id, ana, ben) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let ban = ChatEvent::MemberBanned {
            chat_id,
            user_id: ben,
            by: ana,
            until: None,
            reason: Some("spam".into()),
            at: at(),
        };
        let e = entry(&ban).unwrap();
        assert_eq!(e.action, SystemAction::Banned);
        assert_eq!((e.actor_id, e.user_ids.as_slice()), (Some(ana), &[ben][..]));
        assert_eq!((e.title, e.role, e.message_id), (None, None, None));
        assert_eq!(e.message_seq, None);
    }

    #[test]
    fn an_automatic_promotion_has_no_actor_and_messages_show_no_entry() {
        let (chat_id, ben) = (Uuid::new_v4(), Uuid::new_v4());
        let promoted = ChatEvent::AdminPromoted {
            chat_id,
            user_id: ben,
            by: None,
            at: at(),
        };
        let e = entry(&promoted).unwrap();
        assert_eq!(
            (e.action, e.actor_id, e.role),
            (SystemAction::RoleChanged, None, Some(Role::Admin))
        );
        let read = ChatEvent::ReadMarkerMoved {
            chat_id,
            user_id: ben,
            up_to_seq: 1,
            at: at(),
        };
        assert_eq!(entry(&read), None);
    }
}
