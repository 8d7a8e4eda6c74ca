//! Commands on one existing message (edit, delete for me or for everyone,
//! reactions, pins) and the read marker.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::{Chat, ChatAction, User, UserAction, UserCommand, chat_stream, user_stream};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::CommandState;
use crate::answers::{ChatAnswer, CommandAnswer, MessageAnswer};
use crate::facts::{self, chat, peer_blocks, required_message};
use crate::openapi::{ChatPath, MessagePath, ReactionPath};
use crate::pipeline::{CommandContext, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(edit, delete))
        .routes(routes!(react, unreact))
        .routes(routes!(pin, unpin))
        .routes(routes!(read))
        .routes(routes!(delivered))
}

/// A command on one existing message: its facts and the peer's block are
/// loaded, and the domain decides which of them matter.
pub(super) async fn on_message(
    state: &CommandState,
    ctx: &CommandContext,
    path: (Uuid, Uuid),
    build: impl Fn(chat_domain::MessageFacts, bool) -> ChatAction + Sync,
) -> Result<Json<MessageAnswer>, ApiError> {
    let (chat_id, mid) = path;
    let me = ctx.actor();
    let build = &build;
    let outcome = execute::<Chat, _, _>(
        state,
        ctx,
        &chat_stream(chat_id),
        move |loaded| async move {
            // Membership first: an outsider learns nothing about message ids.
            if !facts::seen_by(state, &loaded.state, me)
                .await?
                .is_participant(me)
            {
                return Err(ApiError::not_found(
                    "chat_not_found",
                    format!("no chat {chat_id}"),
                ));
            }
            // Independent reads: the message, and the peer's user-level block.
            let (facts, blocked_by_peer) = tokio::join!(
                required_message(state, chat_id, mid, me),
                peer_blocks(state, &loaded.state, me)
            );
            let action = build(facts?, blocked_by_peer?);
            facts::chat_command(state, &loaded.state, me, ctx.at, action).await
        },
    )
    .await?;
    Ok(Json(MessageAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        message_id: mid,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EditBody {
    /// Not blank, at most `MAX_TEXT_CHARS` (4096 by default) characters.
    #[schema(
        max_length = 4096,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    text: String,
}

/// Edit a message's text (its author, within the edit window).
#[utoipa::path(
    patch, path = "/v1/chats/{chat_id}/messages/{message_id}", tag = "messages", operation_id = "edit_message",
    params(MessagePath),
    request_body = EditBody,
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "not_the_author",
        "edit_window_over", "text_required", "text_too_long", "blocked"
    ]))),
)]
async fn edit(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<EditBody>,
) -> Result<Json<MessageAnswer>, ApiError> {
    on_message(&state, &ctx, path, |message, blocked_by_peer| {
        ChatAction::EditMessage {
            message,
            text: b.text.clone(),
            blocked_by_peer,
        }
    })
    .await
}

/// `me` hides it for the caller; `everyone` deletes it (author, or a group admin).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum DeleteFor {
    Me,
    Everyone,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    #[serde(rename = "for")]
    #[param(inline)]
    scope: DeleteFor,
}

/// Delete a message for the caller (`for=me`) or for everyone.
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/messages/{message_id}", tag = "messages", operation_id = "delete_message",
    params(MessagePath, DeleteQuery),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "invalid_query", "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "not_the_author"
    ]))),
)]
async fn delete(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    // Not `ApiQuery`: a bad `for` names its field in the problem.
    query: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Json<MessageAnswer>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::from(e).with_field("for"))?;
    match q.scope {
        DeleteFor::Everyone => {
            on_message(&state, &ctx, path, |message, _| {
                ChatAction::DeleteForEveryone { message }
            })
            .await
        }
        DeleteFor::Me => hide_for_me(&state, &ctx, path).await,
    }
}

/// Delete-for-me lives on the caller's stream; whether it is already hidden
/// comes from that stream's own subject index.
async fn hide_for_me(
    state: &CommandState,
    ctx: &CommandContext,
    path: (Uuid, Uuid),
) -> Result<Json<MessageAnswer>, ApiError> {
    let (chat_id, mid) = path;
    let me = ctx.actor();
    let outcome = execute::<User, _, _>(state, ctx, &user_stream(me), move |_| async move {
        let c = chat(state, chat_id).await?;
        let message = required_message(state, chat_id, mid, me).await?;
        let visible = facts::seen_by(state, &c.state, me)
            .await?
            .can_see(me, message.seq);
        let already_hidden = facts::hidden_for(state, me, mid).await?;
        Ok(UserCommand {
            actor: me,
            at: ctx.at,
            action: UserAction::HideMessage {
                chat_id,
                message,
                visible,
                already_hidden,
            },
        })
    })
    .await?;
    Ok(Json(MessageAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        message_id: mid,
    }))
}

/// React to a message.
#[utoipa::path(
    put, path = "/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}", tag = "messages", operation_id = "add_reaction",
    params(ReactionPath),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "invalid_emoji",
        "too_many_reactions", "blocked", "you_blocked_chat"
    ]))),
)]
async fn react(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid, String)>,
) -> Result<Json<MessageAnswer>, ApiError> {
    let (chat_id, mid, emoji) = path;
    on_message(&state, &ctx, (chat_id, mid), |message, blocked_by_peer| {
        ChatAction::AddReaction {
            message,
            emoji: emoji.clone(),
            blocked_by_peer,
        }
    })
    .await
}

/// Take a reaction back.
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}", tag = "messages", operation_id = "remove_reaction",
    params(ReactionPath),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "invalid_emoji"
    ]))),
)]
async fn unreact(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid, String)>,
) -> Result<Json<MessageAnswer>, ApiError> {
    let (chat_id, mid, emoji) = path;
    on_message(&state, &ctx, (chat_id, mid), |message, _| {
        ChatAction::RemoveReaction {
            message,
            emoji: emoji.clone(),
        }
    })
    .await
}

/// Pin a message (admins in groups, either side in direct chats).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/messages/{message_id}/pin", tag = "messages", operation_id = "pin_message",
    params(MessagePath),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "message_deleted", "not_an_admin",
        "chat_not_accepted", "too_many_pins", "blocked", "you_blocked_chat"
    ]))),
)]
async fn pin(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MessageAnswer>, ApiError> {
    on_message(&state, &ctx, path, |message, blocked_by_peer| {
        ChatAction::PinMessage {
            message,
            blocked_by_peer,
        }
    })
    .await
}

/// Unpin a message.
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/messages/{message_id}/pin", tag = "messages", operation_id = "unpin_message",
    params(MessagePath),
    responses((status = 200, description = "Done", body = MessageAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "message_not_found", "not_an_admin", "chat_not_accepted"
    ]))),
)]
async fn unpin(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MessageAnswer>, ApiError> {
    on_message(&state, &ctx, path, |message, _| ChatAction::UnpinMessage {
        message_id: message.message_id,
    })
    .await
}

/// The body of both receipts routes: a marker's new place.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkerBody {
    /// Never moves the marker backwards.
    #[serde(deserialize_with = "chat_common::json::whole_number")]
    up_to_seq: u64,
}

/// Move the caller's read marker (never backwards).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/read", tag = "messages", operation_id = "mark_read",
    params(ChatPath),
    request_body = MarkerBody,
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "seq_out_of_range"
    ]))),
)]
async fn read(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<MarkerBody>,
) -> Result<Json<ChatAnswer>, ApiError> {
    super::chats::simple(
        &state,
        &ctx,
        path,
        ChatAction::MarkRead {
            up_to_seq: b.up_to_seq,
        },
    )
    .await
}

/// Move the caller's delivery marker (never backwards): their devices
/// received the chat's messages up to `up_to_seq`. Reading implies
/// delivery, so an ack at or below the read marker appends nothing.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/delivered", tag = "messages", operation_id = "mark_delivered",
    params(ChatPath),
    request_body = MarkerBody,
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "seq_out_of_range"
    ]))),
)]
async fn delivered(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<MarkerBody>,
) -> Result<Json<ChatAnswer>, ApiError> {
    let action = ChatAction::MarkDelivered {
        up_to_seq: b.up_to_seq,
    };
    super::chats::simple(&state, &ctx, path, action).await
}
