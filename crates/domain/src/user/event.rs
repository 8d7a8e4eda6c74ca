//! Events of the user stream. Profile and settings events carry the full new
//! values, so projections copy instead of merging.

use serde::{Deserialize, Serialize};

use super::status::Availability;
use time::OffsetDateTime;
use uuid::Uuid;

use super::state::{AcceptRequestsFrom, LastSeenVisibility};
use crate::erasure::{SealKey, Shred};
use crate::event::DomainEvent;
use crate::message::MediaRef;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UserEvent {
    UserRegistered {
        user_id: Uuid,
        username: String,
        display_name: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ProfileUpdated {
        user_id: Uuid,
        display_name: String,
        avatar_url: Option<String>,
        bio: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    SettingsChanged {
        user_id: Uuid,
        read_receipts: bool,
        last_seen_visible_to: LastSeenVisibility,
        accept_requests_from: AcceptRequestsFrom,
        /// Left out while `full` (the default), so events from before push
        /// notifications read the same.
        #[serde(default, skip_serializing_if = "crate::user::PushPreview::is_full")]
        push_preview: crate::user::PushPreview,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The user chose a status (`online`, `away`, `dnd`, `invisible`) with
    /// an optional text and end; it replaces the one before.
    StatusChanged {
        user_id: Uuid,
        status: Availability,
        text: Option<String>,
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    UserBlocked {
        user_id: Uuid,
        blocked_user_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    UserUnblocked {
        user_id: Uuid,
        blocked_user_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatMuted {
        user_id: Uuid,
        chat_id: Uuid,
        /// `None` = until unmuted.
        #[serde(with = "time::serde::rfc3339::option")]
        until: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatUnmuted {
        user_id: Uuid,
        chat_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatArchived {
        user_id: Uuid,
        chat_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    ChatUnarchived {
        user_id: Uuid,
        chat_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The chat and its messages up to `up_to_seq` are hidden for this user;
    /// a newer message brings the chat back.
    ChatCleared {
        user_id: Uuid,
        chat_id: Uuid,
        up_to_seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    MessageHiddenForMe {
        user_id: Uuid,
        chat_id: Uuid,
        message_id: Uuid,
        seq: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The user uploaded a media item; its blob is stored under its id.
    MediaUploaded {
        user_id: Uuid,
        media: MediaRef,
        /// The file name the client sent (sanitized), for downloads.
        file_name: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The media's blob was deleted (never attached in time, or no message
    /// references it any more); it can no longer be sent.
    MediaDeleted {
        user_id: Uuid,
        media_id: Uuid,
        reason: MediaDeleteReason,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The user deleted their account. Appending it destroys every key
    /// they own ([`crate::erasure`]): their name, profile and every message
    /// they sent become unreadable in the log, and readers show them as
    /// "Deleted user" from here on.
    UserErased {
        user_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// Why a media item was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaDeleteReason {
    /// Not attached to any message within the retention window.
    Unattached,
    /// Every message that referenced it was deleted for everyone.
    Unreferenced,
    /// Its owner deleted it (`DELETE /v1/media/{id}`); messages that carried
    /// it show it as removed.
    ByOwner,
}

impl UserEvent {
    /// The user whose stream this is.
    pub fn user_id(&self) -> Uuid {
        match self {
            UserEvent::UserRegistered { user_id, .. }
            | UserEvent::ProfileUpdated { user_id, .. }
            | UserEvent::SettingsChanged { user_id, .. }
            | UserEvent::StatusChanged { user_id, .. }
            | UserEvent::UserBlocked { user_id, .. }
            | UserEvent::UserUnblocked { user_id, .. }
            | UserEvent::ChatMuted { user_id, .. }
            | UserEvent::ChatUnmuted { user_id, .. }
            | UserEvent::ChatArchived { user_id, .. }
            | UserEvent::ChatUnarchived { user_id, .. }
            | UserEvent::ChatCleared { user_id, .. }
            | UserEvent::MessageHiddenForMe { user_id, .. }
            | UserEvent::MediaUploaded { user_id, .. }
            | UserEvent::MediaDeleted { user_id, .. }
            | UserEvent::UserErased { user_id, .. } => *user_id,
        }
    }
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> &'static str {
        match self {
            UserEvent::UserRegistered { .. } => "UserRegistered",
            UserEvent::ProfileUpdated { .. } => "ProfileUpdated",
            UserEvent::SettingsChanged { .. } => "SettingsChanged",
            UserEvent::StatusChanged { .. } => "StatusChanged",
            UserEvent::UserBlocked { .. } => "UserBlocked",
            UserEvent::UserUnblocked { .. } => "UserUnblocked",
            UserEvent::ChatMuted { .. } => "ChatMuted",
            UserEvent::ChatUnmuted { .. } => "ChatUnmuted",
            UserEvent::ChatArchived { .. } => "ChatArchived",
            UserEvent::ChatUnarchived { .. } => "ChatUnarchived",
            UserEvent::ChatCleared { .. } => "ChatCleared",
            UserEvent::MessageHiddenForMe { .. } => "MessageHiddenForMe",
            UserEvent::MediaUploaded { .. } => "MediaUploaded",
            UserEvent::MediaDeleted { .. } => "MediaDeleted",
            UserEvent::UserErased { .. } => "UserErased",
        }
    }

    fn schema_version(&self) -> u16 {
        1
    }

    /// Hiding is about one message, so "already hidden?" is one subject probe;
    /// likewise "does this upload exist?" for a media item.
    fn subject(&self) -> Option<Uuid> {
        match self {
            UserEvent::MessageHiddenForMe { message_id, .. } => Some(*message_id),
            UserEvent::MediaUploaded { media, .. } => Some(media.media_id),
            UserEvent::MediaDeleted { media_id, .. } => Some(*media_id),
            _ => None,
        }
    }

    fn redacted(&self) -> Option<(SealKey, Self)> {
        super::personal::redacted(self)
    }

    fn shreds(&self) -> Vec<Shred> {
        super::personal::shreds(self)
    }
}
