//! What commands answer: the bodies handlers return are these structs, and
//! the OpenAPI document is generated from the same structs (`ToSchema`), so
//! the document cannot drift from what is sent.
//!
//! Every answer starts with [`CommandAnswer`] (where the command's last event
//! landed: pass `position` as `min_position` to read your writes), then the
//! ids of what it acted on.

use chat_domain::ChatStatus;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::openapi;
use crate::pipeline::Outcome;

/// Every command's answer: where its last event landed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandAnswer {
    /// Global position of the command's last event (or the stream's newest
    /// for a no-op): pass it as `min_position` to read your writes.
    pub position: u64,
    /// The stream the command wrote to.
    pub stream: String,
    /// The stream's version after the command.
    pub version: u64,
}

impl CommandAnswer {
    pub fn of<E>(outcome: &Outcome<E>) -> Self {
        Self {
            position: outcome.position,
            stream: outcome.stream.clone(),
            version: outcome.version,
        }
    }
}

/// A command on the caller's own user stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    /// The caller.
    pub user_id: Uuid,
}

/// A command on a chat, with the chat's status afterwards.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub chat_id: Uuid,
    /// `null` only if the chat could not be read back.
    #[schema(value_type = Option<openapi::ChatStatus>)]
    pub status: Option<ChatStatus>,
}

/// A new group, or a per-user preference about a chat.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatIdAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub chat_id: Uuid,
}

/// A command about one member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub chat_id: Uuid,
    pub user_id: Uuid,
}

/// A command on one message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub chat_id: Uuid,
    pub message_id: Uuid,
}

/// A sent message (or, on a resend of the same `client_msg_id`, the original).
#[derive(Debug, Serialize, ToSchema)]
pub struct SentAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub chat_id: Uuid,
    /// Derived from the chat, the sender and `client_msg_id`.
    pub message_id: Uuid,
    /// The message's place in the chat.
    pub seq: u64,
}
