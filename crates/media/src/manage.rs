//! `DELETE /v1/media/{media_id}`: the owner deletes an upload. Recorded on
//! their stream (`MediaDeleted`, reason `by_owner`) before the blob goes,
//! the same way the cleanup job deletes; messages that carried it show it
//! as removed, with no URL. Deleting it again changes nothing.

use axum::Json;
use axum::extract::State;
use chat_command_api::answers::CommandAnswer;
use chat_common::{ApiError, ApiPath};
use chat_domain::MediaDeleteReason;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::MediaApp;
use crate::cleanup::delete_media;
use chat_command_api::pipeline::CommandContext;

/// A deleted upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaDeletedAnswer {
    #[serde(flatten)]
    pub command: CommandAnswer,
    pub media_id: Uuid,
}

/// Delete one of your uploads (its blob is removed; messages show it as removed).
#[utoipa::path(
    delete, path = "/v1/media/{media_id}", tag = "media", operation_id = "delete_media",
    params(("media_id" = Uuid, Path)),
    responses((status = 200, description = "Deleted (or already gone)", body = MediaDeletedAnswer)),
    extensions(("x-error-codes" = json!(["rate_limited", "media_not_found", "user_not_found"]))),
)]
pub(super) async fn delete(
    State(state): State<MediaApp>,
    ctx: CommandContext,
    ApiPath(media_id): ApiPath<Uuid>,
) -> Result<Json<MediaDeletedAnswer>, ApiError> {
    state.commands.limiter.check_commands(ctx.actor()).await?;
    let outcome = delete_media(&state, &ctx, media_id, MediaDeleteReason::ByOwner).await?;
    Ok(Json(MediaDeletedAnswer {
        command: CommandAnswer::of(&outcome),
        media_id,
    }))
}
