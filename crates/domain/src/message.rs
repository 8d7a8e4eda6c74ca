//! Message value types, and the facts about one message that message commands
//! carry.
//!
//! The chat aggregate keeps no per-message state (a chat with a million
//! messages must load as fast as a new one). Instead, the command side loads
//! every event whose `subject` is the message (one probe of the store's subject
//! index), folds them with [`MessageFacts::fold`] (in `chat::facts`, next to
//! the events it reads) and passes the result in with
//! the command. Because the append is guarded by the chat stream's expected
//! version, facts that went stale in the meantime surface as a concurrency
//! conflict and the command is re-decided on fresh facts.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::poll::PollFacts;
use time::OffsetDateTime;
use uuid::Uuid;

/// What a message carries.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Text,
    Image,
    Video,
    Audio,
    Voice,
    File,
    /// A question with options members vote on ([`crate::poll`]).
    Poll,
    /// A point on the map.
    Location,
}

/// An uploaded media item, as the media service recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub media_id: Uuid,
    /// The uploader; only they may send it.
    pub owner_id: Uuid,
    pub kind: MessageKind,
    pub mime: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub sha256: String,
}

/// What a reply points at, copied into the event so readers can render the
/// quote header without a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRef {
    pub message_id: Uuid,
    pub seq: u64,
    pub sender_id: Uuid,
}

/// Where a forwarded message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRef {
    pub chat_id: Uuid,
    pub message_id: Uuid,
    pub original_sender_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub original_sent_at: OffsetDateTime,
}

/// Everything the domain needs to know about one existing message, as seen
/// by one actor (whose own reactions are included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFacts {
    pub message_id: Uuid,
    pub chat_id: Uuid,
    pub seq: u64,
    pub sender_id: Uuid,
    pub kind: MessageKind,
    /// Current text (after edits); `None` once deleted.
    pub text: Option<String>,
    /// `None` once deleted.
    pub media: Option<MediaRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub deleted: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    pub pinned: bool,
    /// The emoji the actor currently has on this message.
    pub reactions_of_actor: BTreeSet<String>,
    /// A poll's options, state and the actor's ballot; `None` otherwise.
    #[serde(default)]
    pub poll: Option<PollFacts>,
}

/// The source of a forward. The shell computes `visible_to_sender` with the
/// source chat's `can_see`, since the domain only sees one chat at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSource {
    pub message: MessageFacts,
    pub visible_to_sender: bool,
}
