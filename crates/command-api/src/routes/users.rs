//! `PUT /v1/me/profile`, `PUT /v1/me/settings`, `POST|DELETE /v1/users/{id}/block`.

use axum::Json;
use axum::extract::{FromRef, State};
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::user::status::Availability;
use chat_domain::{
    AcceptRequestsFrom, LastSeenVisibility, User, UserAction, UserCommand, user_stream,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::CommandState;
use crate::answers::{CommandAnswer, UserAnswer};
use crate::facts::existing_user;
use crate::openapi::{self, UserPath};
use crate::pipeline::{CommandContext, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(profile))
        .routes(routes!(settings))
        .routes(routes!(status))
        .routes(routes!(block, unblock))
}

/// Fields left out (or null) stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    /// 1..=64 characters.
    #[schema(
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    display_name: Option<String>,
    /// An http(s) URL of at most 2048 characters; blank clears it.
    #[schema(
        max_length = 2048,
        pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(https?://[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    avatar_url: Option<String>,
    /// At most 512 characters; blank clears it.
    #[schema(
        max_length = 512,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    bio: Option<String>,
}

/// Fields left out (or null) stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    read_receipts: Option<bool>,
    #[schema(value_type = Option<openapi::LastSeenVisibility>)]
    last_seen_visible_to: Option<LastSeenVisibility>,
    #[schema(value_type = Option<openapi::AcceptRequestsFrom>)]
    accept_requests_from: Option<AcceptRequestsFrom>,
    /// How much of a message your push notifications show: `full` (sender
    /// and text), `sender_only` or `nothing`.
    #[schema(value_type = Option<String>, pattern = "^(full|sender_only|nothing)$")]
    push_preview: Option<chat_domain::push::PushPreview>,
}

/// Run a command on the caller's own user stream.
async fn on_self(
    state: &CommandState,
    ctx: &CommandContext,
    action: UserAction,
) -> Result<Json<UserAnswer>, ApiError> {
    let me = ctx.actor();
    let action = &action;
    let outcome = execute::<User, _, _>(state, ctx, &user_stream(me), move |_| async move {
        Ok(UserCommand {
            actor: me,
            at: ctx.at,
            action: action.clone(),
        })
    })
    .await?;
    Ok(Json(UserAnswer {
        command: CommandAnswer::of(&outcome),
        user_id: me,
    }))
}

/// Update the caller's profile.
#[utoipa::path(
    put, path = "/v1/me/profile", tag = "users", operation_id = "update_profile",
    request_body = ProfileBody,
    responses((status = 200, description = "Updated", body = UserAnswer)),
    extensions(("x-error-codes" = json!([
        "invalid_display_name", "invalid_avatar_url", "bio_too_long", "user_not_found"
    ]))),
)]
async fn profile(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<ProfileBody>,
) -> Result<Json<UserAnswer>, ApiError> {
    let action = UserAction::UpdateProfile {
        display_name: b.display_name,
        avatar_url: b.avatar_url,
        bio: b.bio,
    };
    on_self(&state, &ctx, action).await
}

/// Update the caller's privacy settings.
#[utoipa::path(
    put, path = "/v1/me/settings", tag = "users", operation_id = "update_settings",
    request_body = SettingsBody,
    responses((status = 200, description = "Updated", body = UserAnswer)),
    extensions(("x-error-codes" = json!(["user_not_found"]))),
)]
async fn settings(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<SettingsBody>,
) -> Result<Json<UserAnswer>, ApiError> {
    let action = UserAction::UpdateSettings {
        read_receipts: b.read_receipts,
        last_seen_visible_to: b.last_seen_visible_to,
        accept_requests_from: b.accept_requests_from,
        push_preview: b.push_preview,
    };
    on_self(&state, &ctx, action).await
}

/// The status to show (`invisible` shows offline to others).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    #[schema(value_type = openapi::Availability)]
    status: Availability,
    /// At most 200 characters; blank or absent is none.
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    text: Option<String>,
    /// When the status ends (in the future); absent: until changed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<time::OffsetDateTime>,
}

/// Choose the caller's status, with an optional text and end.
#[utoipa::path(
    put, path = "/v1/me/status", tag = "users", operation_id = "set_status",
    request_body = StatusBody,
    responses((status = 200, description = "Set (or unchanged)", body = UserAnswer)),
    extensions(("x-error-codes" = json!([
        "user_not_found", "status_text_too_long", "status_expiry_in_past", "control_characters"
    ]))),
)]
async fn status(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<StatusBody>,
) -> Result<Json<UserAnswer>, ApiError> {
    let action = UserAction::SetStatus {
        status: b.status,
        text: b.text,
        expires_at: b.expires_at,
    };
    on_self(&state, &ctx, action).await
}

/// Block a user: no more requests or messages from them in direct chats.
#[utoipa::path(
    post, path = "/v1/users/{user_id}/block", tag = "users", operation_id = "block_user",
    params(UserPath),
    responses((status = 200, description = "Blocked (or already blocked)", body = UserAnswer)),
    extensions(("x-error-codes" = json!(["user_not_found", "cannot_block_self", "too_many_blocks"]))),
)]
async fn block(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<UserAnswer>, ApiError> {
    let target = path;
    existing_user(&state, target).await?;
    on_self(&state, &ctx, UserAction::BlockUser { target }).await
}

/// Unblock a user.
#[utoipa::path(
    delete, path = "/v1/users/{user_id}/block", tag = "users", operation_id = "unblock_user",
    params(UserPath),
    responses((status = 200, description = "Unblocked (or was not blocked)", body = UserAnswer)),
    extensions(("x-error-codes" = json!(["user_not_found", "cannot_block_self"]))),
)]
async fn unblock(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<UserAnswer>, ApiError> {
    let target = path;
    existing_user(&state, target).await?;
    on_self(&state, &ctx, UserAction::UnblockUser { target }).await
}
