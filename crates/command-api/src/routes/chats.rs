//! Direct chats: `POST /v1/chats/direct` (create or get), and
//! `POST /v1/chats/{id}/accept|reject|block|unblock`.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::{Chat, ChatAction, ChatCommand, ChatEvent, chat_stream, direct_chat_id};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::created_or_ok;
use crate::CommandState;
use crate::answers::{ChatAnswer, ChatIdAnswer, CommandAnswer};
use crate::facts::{self, existing_user};
use crate::openapi::ChatPath;
use crate::pipeline::{CommandContext, Outcome, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(start_direct))
        .routes(routes!(accept))
        .routes(routes!(reject))
        .routes(routes!(block))
        .routes(routes!(unblock))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DirectBody {
    recipient_id: Uuid,
}

/// Start a direct chat (a request the recipient accepts or rejects); a
/// repeat returns the same chat.
#[utoipa::path(
    post, path = "/v1/chats/direct", tag = "chats", operation_id = "start_direct_chat",
    request_body = DirectBody,
    responses(
        (status = 201, description = "Requested", body = ChatAnswer),
        (status = 200, description = "The chat already existed", body = ChatAnswer),
    ),
    extensions(("x-error-codes" = json!([
        "user_not_found", "cannot_chat_with_self", "blocked", "you_blocked_user",
        "requests_not_accepted", "chat_request_rejected", "chat_exists", "chat_closed"
    ]))),
)]
async fn start_direct(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<DirectBody>,
) -> Result<(StatusCode, Json<ChatAnswer>), ApiError> {
    let me = ctx.actor();
    let recipient = b.recipient_id;
    let chat_id = direct_chat_id(me, recipient);
    let (state, ctx) = (&state, &ctx);
    let outcome = execute::<Chat, _, _>(state, ctx, &chat_stream(chat_id), move |_| async move {
        // Both users' current settings and blocks, read per attempt.
        let them = existing_user(state, recipient).await?;
        let mine = existing_user(state, me).await?;
        Ok(ChatCommand::new(
            me,
            ctx.at,
            ChatAction::StartDirect {
                chat_id,
                recipient,
                recipient_blocked_requester: them.state.blocks(me),
                requester_blocked_recipient: mine.state.blocks(recipient),
                recipient_accepts_requests: them.state.accepts_requests(),
            },
        ))
    })
    .await?;
    let body = ChatAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        status: status_after(state, chat_id).await,
    };
    Ok((created_or_ok(&outcome), Json(body)))
}

/// Run `action` on chat `chat_id` as the caller, with the subscriber
/// records a channel needs ([`facts::chat_command`]) on every attempt.
pub(super) async fn run(
    state: &CommandState,
    ctx: &CommandContext,
    chat_id: Uuid,
    action: &ChatAction,
) -> Result<Outcome<ChatEvent>, ApiError> {
    execute::<Chat, _, _>(
        state,
        ctx,
        &chat_stream(chat_id),
        move |loaded| async move {
            facts::chat_command(state, &loaded.state, ctx.actor(), ctx.at, action.clone()).await
        },
    )
    .await
}

/// Run a command that needs nothing but the chat itself.
pub(super) async fn simple(
    state: &CommandState,
    ctx: &CommandContext,
    path: Uuid,
    action: ChatAction,
) -> Result<Json<ChatAnswer>, ApiError> {
    let chat_id = path;
    let outcome = run(state, ctx, chat_id, &action).await?;
    Ok(Json(ChatAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        status: status_after(state, chat_id).await,
    }))
}

/// Create the chat `chat_id` with `action` (a group or a channel): 201
/// with its id.
pub(super) async fn create(
    state: &CommandState,
    ctx: &CommandContext,
    chat_id: Uuid,
    action: ChatAction,
) -> Result<(StatusCode, Json<ChatIdAnswer>), ApiError> {
    let outcome = run(state, ctx, chat_id, &action).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChatIdAnswer {
            command: CommandAnswer::of(&outcome),
            chat_id,
        }),
    ))
}

/// The chat's status after a command, for its answer. The events are
/// already durable, so a failure to read it back must not turn the answer
/// into an error (a retry would repeat the command): `null` instead.
async fn status_after(state: &CommandState, chat_id: Uuid) -> Option<chat_domain::ChatStatus> {
    crate::facts::chat(state, chat_id)
        .await
        .ok()
        .map(|c| c.state.status())
}

/// Accept a pending chat request (its recipient only).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/accept", tag = "chats", operation_id = "accept_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_direct_chat", "not_the_recipient", "chat_not_pending"]))),
)]
async fn accept(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::AcceptRequest).await
}

/// Reject a pending chat request (its recipient only).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/reject", tag = "chats", operation_id = "reject_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_direct_chat", "not_the_recipient", "chat_not_pending"]))),
)]
async fn reject(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::RejectRequest).await
}

/// Block a direct chat: neither side can write into it.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/block", tag = "chats", operation_id = "block_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_direct_chat"]))),
)]
async fn block(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::BlockChat).await
}

/// Lift the caller's block of a direct chat.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/unblock", tag = "chats", operation_id = "unblock_chat",
    params(ChatPath),
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_direct_chat"]))),
)]
async fn unblock(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::UnblockChat).await
}
