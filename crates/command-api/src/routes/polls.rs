//! Votes on polls and closing them: commands on an existing message, so
//! they load its facts (with the poll's state and the caller's ballot)
//! like every other message command; the domain decides.

use axum::Json;
use axum::extract::{FromRef, State};
use chat_common::{ApiError, ApiJson, ApiPath};
use chat_domain::ChatAction;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::message_ops::on_message;
use crate::CommandState;
use crate::answers::MessageAnswer;
use crate::openapi::MessagePath;
use crate::pipeline::CommandContext;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(vote))
        .routes(routes!(close))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    /// The whole ballot: it replaces the caller's earlier one; empty
    /// retracts. One option unless the poll is multiple choice.
    #[schema(max_items = 10, value_type = Vec<u32>)]
    #[serde(deserialize_with = "chat_common::json::whole_numbers")]
    option_ids: Vec<u32>,
}

/// Vote on a poll (re-voting replaces the ballot).
#[utoipa::path(
    put, path = "/v1/chats/{chat_id}/messages/{message_id}/votes", tag = "messages",
    operation_id = "vote",
    params(MessagePath),
    request_body = VoteBody,
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "not_a_poll",
        "invalid_vote", "poll_closed"
    ]))),
)]
async fn vote(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<VoteBody>,
) -> Result<Json<MessageAnswer>, ApiError> {
    on_message(&state, &ctx, path, |message, _| ChatAction::Vote {
        message,
        option_ids: b.option_ids.clone(),
    })
    .await
}

/// Close a poll (its author): no more votes.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/messages/{message_id}/poll/close", tag = "messages",
    operation_id = "close_poll",
    params(MessagePath),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "not_a_poll",
        "not_the_author"
    ]))),
)]
async fn close(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MessageAnswer>, ApiError> {
    on_message(&state, &ctx, path, |message, _| ChatAction::ClosePoll {
        message,
    })
    .await
}
