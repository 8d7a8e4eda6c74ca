//! The chat aggregate's state.
//!
//! It is deliberately bounded: membership, roles, read markers, pins (capped by
//! policy) and counters, but nothing per message. Sending into a chat with a
//! million messages costs the same as into a new one, and the state is small
//! enough to snapshot and cache by stream version.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Direct (two people), group, or channel (admins post, subscribers read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Direct,
    Group,
    Channel,
}

/// The request lifecycle of a direct chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectStatus {
    Pending,
    Accepted,
    Rejected,
}

/// What only direct chats have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectPart {
    pub requester: Uuid,
    pub recipient: Uuid,
    pub status: DirectStatus,
    /// Participants who blocked this chat. The chat is blocked while this is
    /// non-empty; unblocking restores `status` as it was.
    pub blocked_by: BTreeSet<Uuid>,
}

impl DirectPart {
    /// The other participant, if `user` is one of the two.
    pub fn peer_of(&self, user: Uuid) -> Option<Uuid> {
        if user == self.requester {
            Some(self.recipient)
        } else if user == self.recipient {
            Some(self.requester)
        } else {
            None
        }
    }

    pub fn is_blocked(&self) -> bool {
        !self.blocked_by.is_empty()
    }
}

/// What only groups have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPart {
    pub title: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub owner: Uuid,
    /// Set when the last member left; a closed group accepts no command.
    pub closed: bool,
    /// A channel anyone may find (search) and subscribe to without a link.
    #[serde(default)]
    pub public: bool,
}

impl GroupPart {
    /// A new group's or channel's: no picture, open.
    pub fn new(title: &str, description: &Option<String>, owner: Uuid, public: bool) -> GroupPart {
        GroupPart {
            title: title.to_owned(),
            description: description.clone(),
            avatar_url: None,
            owner,
            closed: false,
            public,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    /// Deletes others' messages, bans and unbans plain members; changes
    /// no info or roles.
    Moderator,
    Admin,
}

/// One participant. Direct chats have exactly their two participants here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub role: Role,
    /// `last_seq` when they joined: they see messages with `seq > joined_seq`.
    pub joined_seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Order of joining; the lowest is the longest-standing member.
    pub join_order: u64,
    /// Highest seq they have read; never decreases.
    pub read_up_to: u64,
    /// Highest seq their devices acknowledged receiving; never decreases.
    /// Reading implies delivery, so the delivered point is the larger of
    /// this and `read_up_to` ([`Member::delivered`]).
    #[serde(default)]
    pub delivered_up_to: u64,
}

impl Member {
    /// A member as of `at`, who sees seqs after `joined_seq` and has read
    /// (and received) up to `read_up_to`.
    pub fn new(role: Role, joined_seq: u64, at: OffsetDateTime, read_up_to: u64) -> Member {
        Member {
            role,
            joined_seq,
            joined_at: at,
            join_order: 0,
            read_up_to,
            delivered_up_to: read_up_to,
        }
    }

    /// Everything up to here reached one of their devices.
    pub fn delivered(&self) -> u64 {
        self.delivered_up_to.max(self.read_up_to)
    }
}

/// An invite link: how often it may still be used, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub max_uses: Option<u32>,
    pub uses: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Invite {
    /// Whether one more join may use it at `now`.
    pub fn usable(&self, now: OffsetDateTime) -> bool {
        self.max_uses.is_none_or(|max| self.uses < max)
            && self.expires_at.is_none_or(|end| now < end)
    }
}

/// The status shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatStatus {
    Pending,
    Active,
    Rejected,
    Blocked,
    Closed,
}

/// The chat aggregate (stream `chat-{id}`). Fields are public for reading
/// (snapshots, audit views); change them only through `evolve`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// Nil until created.
    pub id: Uuid,
    /// `None` until created.
    pub kind: Option<ChatKind>,
    pub direct: Option<DirectPart>,
    pub group: Option<GroupPart>,
    pub members: BTreeMap<Uuid, Member>,
    /// Seq of the newest message; seqs are gapless from 1.
    pub last_seq: u64,
    /// Pinned message id → its seq; at most `policy.max_pins` entries.
    pub pinned: BTreeMap<Uuid, u64>,
    pub next_join_order: u64,
    /// Invite links by their code's SHA-256; revoked ones are dropped. At
    /// most `policy.max_invites` are kept.
    #[serde(default)]
    pub invites: BTreeMap<String, Invite>,
    /// Banned users → when the ban ends (`None`: until lifted).
    #[serde(default)]
    pub banned: BTreeMap<Uuid, Option<time::OffsetDateTime>>,
    /// A channel's subscribers, its admins and moderators included. Only
    /// those with a role are in `members`: a subscriber's own record lives
    /// in the events about them (`subject` = their id), so the state, and
    /// with it every post, costs the same for 10 subscribers as for
    /// 100,000 ([`crate::chat::SubscriberFacts`]).
    #[serde(default)]
    pub subscribers: u64,
}

/// The name other crates may know the state by.
pub type ChatState = Chat;

impl Chat {
    pub fn exists(&self) -> bool {
        self.kind.is_some()
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn kind(&self) -> Option<ChatKind> {
        self.kind
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn is_participant(&self, user: Uuid) -> bool {
        self.members.contains_key(&user)
    }

    pub fn member(&self, user: Uuid) -> Option<&Member> {
        self.members.get(&user)
    }

    pub fn is_admin(&self, user: Uuid) -> bool {
        self.member(user).is_some_and(|m| m.role == Role::Admin)
    }

    /// An admin or a moderator: may delete others' messages and ban.
    pub fn moderates(&self, user: Uuid) -> bool {
        self.member(user)
            .is_some_and(|m| matches!(m.role, Role::Admin | Role::Moderator))
    }

    /// Whether `user` is banned at `now`.
    pub fn is_banned(&self, user: Uuid, now: OffsetDateTime) -> bool {
        self.banned
            .get(&user)
            .is_some_and(|until| until.is_none_or(|end| now < end))
    }

    /// Group admins (empty for direct chats).
    pub fn admins(&self) -> BTreeSet<Uuid> {
        self.members
            .iter()
            .filter(|(_, m)| m.role == Role::Admin)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The group owner.
    pub fn owner(&self) -> Option<Uuid> {
        self.group.as_ref().map(|g| g.owner)
    }

    /// The other participant of a direct chat.
    pub fn peer_of(&self, user: Uuid) -> Option<Uuid> {
        self.direct.as_ref().and_then(|d| d.peer_of(user))
    }

    pub fn is_channel(&self) -> bool {
        self.kind == Some(ChatKind::Channel)
    }

    pub fn is_closed(&self) -> bool {
        self.group.as_ref().is_some_and(|g| g.closed)
    }

    /// Whether `user` may see message `seq`: a current participant who joined
    /// before it was sent.
    pub fn can_see(&self, user: Uuid, seq: u64) -> bool {
        seq >= 1 && seq <= self.last_seq && self.member(user).is_some_and(|m| seq > m.joined_seq)
    }

    /// The caller's read marker, if a participant.
    pub fn read_marker(&self, user: Uuid) -> Option<u64> {
        self.member(user).map(|m| m.read_up_to)
    }

    pub fn is_pinned(&self, message_id: Uuid) -> bool {
        self.pinned.contains_key(&message_id)
    }

    /// The status shown to clients. A chat that does not exist yet reports
    /// `Closed` (nothing can happen in it); check [`Chat::exists`] first.
    pub fn status(&self) -> ChatStatus {
        match (&self.direct, &self.group) {
            (Some(d), _) if d.is_blocked() => ChatStatus::Blocked,
            (Some(d), _) => match d.status {
                DirectStatus::Pending => ChatStatus::Pending,
                DirectStatus::Accepted => ChatStatus::Active,
                DirectStatus::Rejected => ChatStatus::Rejected,
            },
            (None, Some(g)) if !g.closed => ChatStatus::Active,
            _ => ChatStatus::Closed,
        }
    }
}
