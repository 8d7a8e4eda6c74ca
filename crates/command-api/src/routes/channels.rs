//! Channels: create one, subscribe to a public one. Leaving is
//! `POST …/leave`, joining through a link `POST /v1/invites/{code}/join`,
//! and everything else (info, invites, roles, bans, posts, reactions, read
//! markers) is the groups' and messages' routes: the domain tells a channel
//! apart.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chat_common::{ApiError, ApiJson, ApiPath};
use chat_domain::ChatAction;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::chats::{create as create_chat, simple};
use crate::CommandState;
use crate::answers::{ChatAnswer, ChatIdAnswer};
use crate::openapi::ChatPath;
use crate::pipeline::CommandContext;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(subscribe))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// 1..=128 characters.
    #[schema(
        max_length = 128,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    title: String,
    /// At most 1024 characters; blank leaves none.
    #[schema(
        max_length = 1024,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    description: Option<String>,
    /// Found by search and subscribed to without a link (default false).
    #[serde(default)]
    public: bool,
}

/// Create a channel: admins post, subscribers read. The creator owns it.
#[utoipa::path(
    post, path = "/v1/chats/channel", tag = "groups", operation_id = "create_channel",
    request_body = CreateBody,
    responses((status = 201, description = "Created", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!(["invalid_title", "description_too_long", "chat_exists"]))),
)]
async fn create(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<ChatIdAnswer>), ApiError> {
    let chat_id = Uuid::now_v7();
    let action = ChatAction::CreateChannel {
        chat_id,
        title: b.title,
        description: b.description,
        public: b.public,
    };
    create_chat(&state, &ctx, chat_id, action).await
}

/// Subscribe to a public channel (a private one takes an invite link:
/// `POST /v1/invites/{code}/join`). Subscribed already: nothing changes.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/subscribe", tag = "groups", operation_id = "subscribe_channel",
    params(ChatPath),
    responses((status = 200, description = "Subscribed", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_group", "not_a_channel", "user_banned"]))),
)]
async fn subscribe(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::Subscribe).await
}
