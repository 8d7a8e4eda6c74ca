//! Commands on a user's own stream. Whether the user is in a chat comes from
//! the chat stream, so it rides in with the command as `is_participant`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::event::MediaDeleteReason;
use super::state::{AcceptRequestsFrom, LastSeenVisibility};
use crate::message::{MediaRef, MessageFacts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCommand {
    /// Must be the user whose stream this is (for `Register`, becomes its id).
    pub actor: Uuid,
    pub at: OffsetDateTime,
    pub action: UserAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "commands are built once per request and moved, never stored in bulk"
)]
pub enum UserAction {
    Register {
        username: String,
        display_name: Option<String>,
    },
    /// `None` leaves a field as is; a blank avatar or bio clears it.
    UpdateProfile {
        display_name: Option<String>,
        avatar_url: Option<String>,
        bio: Option<String>,
    },
    UpdateSettings {
        read_receipts: Option<bool>,
        last_seen_visible_to: Option<LastSeenVisibility>,
        accept_requests_from: Option<AcceptRequestsFrom>,
        push_preview: Option<crate::user::PushPreview>,
    },
    BlockUser {
        target: Uuid,
    },
    UnblockUser {
        target: Uuid,
    },
    /// `until: None` mutes until unmuted.
    MuteChat {
        chat_id: Uuid,
        until: Option<OffsetDateTime>,
        is_participant: bool,
    },
    UnmuteChat {
        chat_id: Uuid,
        is_participant: bool,
    },
    ArchiveChat {
        chat_id: Uuid,
        is_participant: bool,
    },
    UnarchiveChat {
        chat_id: Uuid,
        is_participant: bool,
    },
    /// `DELETE /v1/chats/{id}`: hide the chat and its history up to
    /// `up_to_seq` (the chat's current last seq) for the actor only.
    ClearChat {
        chat_id: Uuid,
        up_to_seq: u64,
        is_participant: bool,
    },
    /// Delete for me. `visible` = the chat's `can_see(actor, seq)`;
    /// `already_hidden` = a `MessageHiddenForMe` for it exists in this stream.
    HideMessage {
        chat_id: Uuid,
        message: MessageFacts,
        visible: bool,
        already_hidden: bool,
    },
    /// Record a stored upload. The blob is already durable; this makes it
    /// sendable.
    RecordUpload {
        media: MediaRef,
        file_name: Option<String>,
    },
    /// Choose a status (with an optional text and end).
    SetStatus {
        status: super::status::Availability,
        text: Option<String>,
        expires_at: Option<OffsetDateTime>,
    },
    /// Delete an upload (its owner, or the cleanup job). `state` is the media's fold of
    /// this stream's events about it ([`crate::user::MediaState`]).
    DeleteMedia {
        media_id: Uuid,
        state: super::MediaState,
        reason: MediaDeleteReason,
    },
    /// Delete the account: every key the user owns is destroyed with the
    /// event ([`crate::erasure`]). The caller proved it is them (password,
    /// second factor) before this runs.
    Erase,
}
