//! The user aggregate's state: profile, settings, blocks and per-chat
//! preferences.
//!
//! Bounded: blocks are capped by policy and chat preferences exist only for
//! chats the user touched (muted, archived, cleared). Messages hidden "for
//! me" are not kept here; the caller checks them via the subject index.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use time::OffsetDateTime;
use uuid::Uuid;

/// Who sees the user's last-seen time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastSeenVisibility {
    #[default]
    Everyone,
    Contacts,
    Nobody,
}

/// Who may send the user direct chat requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptRequestsFrom {
    #[default]
    Everyone,
    Nobody,
}

/// How much of a message a user's push notifications show on their
/// devices (the notifier's rule: `crate::push`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushPreview {
    /// The sender and the text.
    #[default]
    Full,
    /// The sender only.
    SenderOnly,
    /// That there is something new, nothing more.
    Nothing,
}

impl PushPreview {
    pub fn is_full(&self) -> bool {
        *self == PushPreview::Full
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub read_receipts: bool,
    pub last_seen_visible_to: LastSeenVisibility,
    pub accept_requests_from: AcceptRequestsFrom,
    /// How much of a message their push notifications show.
    pub push_preview: PushPreview,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            read_receipts: true,
            last_seen_visible_to: LastSeenVisibility::Everyone,
            accept_requests_from: AcceptRequestsFrom::Everyone,
            push_preview: PushPreview::Full,
        }
    }
}

/// How a chat is muted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Muted {
    Forever,
    Until(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
}

impl Muted {
    /// `None` in events means "forever".
    pub fn from_until(until: Option<OffsetDateTime>) -> Self {
        until.map_or(Muted::Forever, Muted::Until)
    }

    pub fn until(self) -> Option<OffsetDateTime> {
        match self {
            Muted::Forever => None,
            Muted::Until(t) => Some(t),
        }
    }

    pub fn is_active(self, now: OffsetDateTime) -> bool {
        match self {
            Muted::Forever => true,
            Muted::Until(t) => now < t,
        }
    }
}

/// One user's preferences for one chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPrefs {
    pub muted: Option<Muted>,
    pub archived: bool,
    /// Messages with `seq <= cleared_up_to_seq` are hidden for this user.
    pub cleared_up_to_seq: u64,
}

/// The user aggregate (stream `user-{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Nil until registered.
    pub id: Uuid,
    pub exists: bool,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub settings: Settings,
    /// Users this user blocked; capped by `policy.max_blocked_users`.
    pub blocked: BTreeSet<Uuid>,
    pub chats: BTreeMap<Uuid, ChatPrefs>,
    /// The status they chose (`PUT /v1/me/status`), if any.
    #[serde(default)]
    pub status: Option<super::status::CustomStatus>,
    /// The account was deleted (`UserErased`): it does not exist, and its
    /// id is never registered again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}

/// The name other crates may know the state by.
pub type UserState = User;

impl User {
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// Whether this user has blocked `user`.
    pub fn blocks(&self, user: Uuid) -> bool {
        self.blocked.contains(&user)
    }

    /// Whether `sender`'s writes toward this user in a direct chat are
    /// refused: they blocked the sender, or deleted their account (nobody
    /// would ever read it).
    pub fn refuses_writes_from(&self, sender: Uuid) -> bool {
        self.erased || self.blocks(sender)
    }

    /// Whether this user accepts new direct chat requests.
    pub fn accepts_requests(&self) -> bool {
        self.settings.accept_requests_from == AcceptRequestsFrom::Everyone
    }

    pub fn prefs(&self, chat_id: Uuid) -> Option<&ChatPrefs> {
        self.chats.get(&chat_id)
    }

    /// Whether notifications for `chat_id` are muted at `now`.
    pub fn is_muted(&self, chat_id: Uuid, now: OffsetDateTime) -> bool {
        self.prefs(chat_id)
            .and_then(|p| p.muted)
            .is_some_and(|m| m.is_active(now))
    }
}
