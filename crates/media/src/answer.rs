//! What an upload answers: the command's position and the stored media.

use chat_command_api::answers::CommandAnswer;
use chat_command_api::openapi;
use chat_command_api::pipeline::Outcome;
use chat_common::ApiError;
use chat_common::problem::Problem;
use chat_domain::{MediaRef, MessageKind};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What an upload answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub media_id: Uuid,
    #[schema(value_type = openapi::MessageKind)]
    pub kind: MessageKind,
    /// Sniffed from the bytes; `application/octet-stream` for content a
    /// browser must not render (HTML, scripts, executables).
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// A short-lived signed download URL (no bearer token needed).
    pub url: String,
}

impl UploadAnswer {
    pub fn new<E>(outcome: &Outcome<E>, m: &MediaRef, url: String) -> Self {
        Self {
            command: CommandAnswer::of(outcome),
            media_id: m.media_id,
            kind: m.kind,
            mime: m.mime.clone(),
            size: m.size,
            sha256: m.sha256.clone(),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            url,
        }
    }
}

/// What an upload of several files answers: one entry per `file` part, in
/// the form's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResults {
    pub items: Vec<UploadResult>,
}

/// One file's result: `status` 201 with its `media`, or its `problem`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResult {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<UploadAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

impl From<Result<UploadAnswer, ApiError>> for UploadResult {
    fn from(r: Result<UploadAnswer, ApiError>) -> Self {
        match r {
            Ok(media) => UploadResult {
                status: 201,
                media: Some(media),
                problem: None,
            },
            Err(e) => UploadResult {
                status: e.status.as_u16(),
                media: None,
                problem: Some(e.problem()),
            },
        }
    }
}
