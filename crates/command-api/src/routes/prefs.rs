//! Per-user chat preferences, on the caller's own stream (a busy group is
//! never contended by members muting it): mute, unmute, archive, unarchive,
//! and `DELETE /v1/chats/{id}` (hide the chat and its history so far).

use axum::Json;
use axum::extract::{FromRef, State};
use chat_common::ApiPath;
use chat_common::{ApiError, ApiOptionalJson};
use chat_domain::{User, UserAction, UserCommand, user_stream};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::CommandState;
use crate::answers::{ChatIdAnswer, CommandAnswer};
use crate::facts::chat;
use crate::openapi::ChatPath;
use crate::pipeline::{CommandContext, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(mute))
        .routes(routes!(unmute))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(clear))
}

/// Optional: without a body (or without `until`) the chat stays muted until
/// unmuted.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    /// RFC 3339; must be in the future.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<OffsetDateTime>,
}

/// Run a preference command; `build` gets the chat id, whether the caller
/// takes part in the chat, and the chat's newest seq.
async fn on_pref(
    state: &CommandState,
    ctx: &CommandContext,
    path: Uuid,
    build: impl Fn(Uuid, bool, u64) -> UserAction + Sync,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    let chat_id = path;
    let me = ctx.actor();
    let build = &build;
    let outcome = execute::<User, _, _>(state, ctx, &user_stream(me), move |_| async move {
        let c = chat(state, chat_id).await?;
        let seen = crate::facts::seen_by(state, &c.state, me).await?;
        let action = build(chat_id, seen.is_participant(me), seen.last_seq());
        Ok(UserCommand {
            actor: me,
            at: ctx.at,
            action,
        })
    })
    .await?;
    Ok(Json(ChatIdAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
    }))
}

/// Mute a chat for the caller, until a time or until unmuted.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/mute", tag = "preferences", operation_id = "mute_chat",
    params(ChatPath),
    request_body(content = Option<MuteBody>, description = "Optional"),
    responses((status = 200, description = "Done", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "mute_until_in_past"]))),
)]
async fn mute(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiOptionalJson(b): ApiOptionalJson<MuteBody>,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    // No body (or `null`) mutes until unmuted.
    on_pref(&state, &ctx, path, |chat_id, is_participant, _| {
        UserAction::MuteChat {
            chat_id,
            until: b.until,
            is_participant,
        }
    })
    .await
}

/// Unmute a chat for the caller.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/unmute", tag = "preferences", operation_id = "unmute_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found"]))),
)]
async fn unmute(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    on_pref(&state, &ctx, path, |chat_id, is_participant, _| {
        UserAction::UnmuteChat {
            chat_id,
            is_participant,
        }
    })
    .await
}

/// Archive a chat for the caller.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/archive", tag = "preferences", operation_id = "archive_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found"]))),
)]
async fn archive(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    on_pref(&state, &ctx, path, |chat_id, is_participant, _| {
        UserAction::ArchiveChat {
            chat_id,
            is_participant,
        }
    })
    .await
}

/// Unarchive a chat for the caller.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/unarchive", tag = "preferences", operation_id = "unarchive_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found"]))),
)]
async fn unarchive(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    on_pref(&state, &ctx, path, |chat_id, is_participant, _| {
        UserAction::UnarchiveChat {
            chat_id,
            is_participant,
        }
    })
    .await
}

/// Hide the chat and its history up to now, for the caller only.
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}", tag = "preferences", operation_id = "delete_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found"]))),
)]
async fn clear(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatIdAnswer>, ApiError> {
    on_pref(&state, &ctx, path, |chat_id, is_participant, up_to_seq| {
        UserAction::ClearChat {
            chat_id,
            up_to_seq,
            is_participant,
        }
    })
    .await
}
