//! The event envelope: what every stored event carries besides its payload.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// Who caused an event and in answer to what. Carried on every stored event so
/// auditors can answer "who did what, when, in reply to which request".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The authenticated user the command ran for (None for system actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Uuid>,
    /// The command's id (`Idempotency-Key` or `client_msg_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// The request id (`X-Request-Id`) shared by everything one request caused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The event or command this one directly follows from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// An event about to be appended. The id is chosen by the writer (UUIDv7) so an
/// append can be retried safely: the store recognises ids it already holds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    /// The entity inside the stream this event is about (a message id), indexed
    /// so the command side can fold one message's history without the stream.
    pub subject: Option<Uuid>,
    /// This event brings its subject into being: the append fails with
    /// [`crate::StoreError::SubjectTaken`] if the stream already has an event
    /// about it (checked in the append's own transaction).
    pub creates_subject: bool,
    pub payload: Value,
    pub metadata: Metadata,
    pub occurred_at: OffsetDateTime,
    /// Personal data in `payload` to store sealed (`crate::sealing`);
    /// readers get `payload` while the key exists.
    pub seal: Option<crate::sealing::Seal>,
    /// Keys destroyed in the transaction that appends this event.
    pub shreds: Vec<chat_domain::erasure::Shred>,
    /// `seal` already applied, with the new key (`Sealer::preseal`).
    pub(crate) presealed: Option<crate::sealing::Presealed>,
}

impl NewEvent {
    /// A new event with a fresh UUIDv7 id.
    pub fn new(event_type: impl Into<String>, payload: Value, occurred_at: OffsetDateTime) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            subject: None,
            creates_subject: false,
            payload,
            metadata: Metadata::default(),
            occurred_at,
            seal: None,
            shreds: Vec::new(),
            presealed: None,
        }
    }
}

/// An event as stored, with its place in its stream (`version`, 1-based and
/// gapless) and in the global log (`position`, strictly increasing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: String,
    pub version: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub payload: Value,
    pub metadata: Metadata,
}

/// The optimistic-concurrency condition of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "version")]
pub enum ExpectedVersion {
    /// Append whatever the stream's version is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's current version must be exactly this (0 = empty stream).
    Exact(u64),
}

impl ExpectedVersion {
    pub fn matches(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => v == current,
        }
    }
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    pub stream: String,
    pub first_version: u64,
    /// The stream's version after the append.
    pub last_version: u64,
    pub first_position: u64,
    /// The global position of the last appended event (for read-your-writes).
    pub last_position: u64,
    /// True when every event id was already stored: nothing was written and
    /// this is the original result.
    pub already_appended: bool,
}

/// The newest event of a stream: its version and global position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHead {
    pub version: u64,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}
