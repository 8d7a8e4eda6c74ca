//! Messages: send, edit, delete (for me / for everyone), reactions, pins and
//! read markers. Facts about referenced messages are folded from their own
//! events (the store's subject index) on every attempt, never cached.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::{
    Chat, ChatAction, ChatCommand, ChatEvent, ForwardSource, MessageKind, User, UserAction,
    UserCommand, chat_stream, message_id, user_stream,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::CommandState;
use crate::answers::{ChatAnswer, CommandAnswer, MessageAnswer, SentAnswer};
use crate::facts::{self, chat, existing_user, required_message};
use crate::openapi::{self, ChatPath, MessagePath, ReactionPath};
use crate::pipeline::{CommandContext, Outcome, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(edit, delete))
        .routes(routes!(react, unreact))
        .routes(routes!(pin, unpin))
        .routes(routes!(read))
}

/// A message in another chat the caller belongs to.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageRef {
    chat_id: Uuid,
    message_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendBody {
    /// 1..=64 characters, unique per sender and chat: a resend with the same
    /// id returns the original message.
    client_msg_id: String,
    #[schema(value_type = openapi::MessageKind)]
    kind: MessageKind,
    /// Required for `text` messages, a caption otherwise.
    text: Option<String>,
    /// An uploaded media item, for media kinds.
    media_id: Option<Uuid>,
    /// A message of the same chat.
    reply_to: Option<Uuid>,
    /// Forward a message; carries no text or media of its own.
    forward_of: Option<MessageRef>,
}

/// Send a message. A pending request lets the requester write, which the recipient sees as the request.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/messages", tag = "messages", operation_id = "send_message",
    params(ChatPath),
    request_body = SendBody,
    responses(
        (status = 201, description = "Sent", body = SentAnswer),
        (status = 200, description = "Already sent with this client_msg_id", body = SentAnswer),
    ),
    extensions(("x-error-codes" = json!([
        "rate_limited", "chat_not_found", "chat_closed", "chat_request_pending", "chat_request_rejected",
        "blocked", "you_blocked_chat", "invalid_client_msg_id", "text_required", "text_too_long",
        "media_required", "media_mismatch", "media_not_found", "forward_with_content",
        "message_not_found", "message_deleted"
    ]))),
)]
async fn send(
    State(state): State<CommandState>,
    mut ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<SendBody>,
) -> Result<(StatusCode, Json<SentAnswer>), ApiError> {
    let chat_id = path;
    let me = ctx.actor();
    let mid = message_id(chat_id, me, &b.client_msg_id);
    ctx.command_id
        .get_or_insert_with(|| b.client_msg_id.clone());
    let (state, ctx, b) = (&state, &ctx, &b);
    // No resend probe up front: the store refuses a second `MessageSent`
    // with this message id inside the append (the pipeline answers that as
    // a resend), and a refused send is probed below.
    let sent = execute::<Chat, _, _>(
        state,
        ctx,
        &chat_stream(chat_id),
        move |loaded| async move {
            let blocked_by_peer = peer_blocks(state, &loaded.state, me).await?;
            if b.reply_to.is_some() && !loaded.state.is_participant(me) {
                return Err(ApiError::not_found(
                    "chat_not_found",
                    format!("no chat {chat_id}"),
                ));
            }
            let reply_to = match b.reply_to {
                Some(id) => Some(
                    required_message(state, chat_id, id, me)
                        .await
                        .map_err(|e| e.with_field("reply_to"))?,
                ),
                None => None,
            };
            let forward_of = match &b.forward_of {
                Some(r) => Some(forward_source(state, r, me).await?),
                None => None,
            };
            let media = match b.media_id {
                Some(id) => Some(own_media(state, me, id).await?),
                None => None,
            };
            Ok(ChatCommand {
                actor: me,
                at: ctx.at,
                action: ChatAction::SendMessage {
                    message_id: mid,
                    client_msg_id: b.client_msg_id.clone(),
                    kind: b.kind,
                    text: b.text.clone(),
                    media,
                    reply_to,
                    forward_of,
                    existing: None,
                    blocked_by_peer,
                },
            })
        },
    )
    .await;
    let outcome = match sent {
        Ok(outcome) => outcome,
        // A refused send may be the resend of a message sent before the
        // refusal applied (a block since, a closed group): that message's
        // answer still stands.
        Err(e) if e.status.is_client_error() => {
            match facts::message(state, chat_id, mid, me).await? {
                Some(f) if f.sender_id == me => {
                    let loaded = chat(state, chat_id).await?;
                    Outcome {
                        stream: chat_stream(chat_id),
                        version: loaded.version,
                        position: loaded.position,
                        events: Vec::new(),
                    }
                }
                _ => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    // A resend appends nothing: answer with the original message.
    let seq = match outcome.events.iter().find_map(|e| match e {
        ChatEvent::MessageSent { seq, .. } => Some(*seq),
        _ => None,
    }) {
        Some(seq) => seq,
        None => required_message(state, chat_id, mid, me).await?.seq,
    };
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = SentAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        message_id: mid,
        seq,
    };
    Ok((status, Json(body)))
}

/// The sender's own upload, as their stream records it (subject index: no
/// projection lag). Someone else's upload, or a deleted one, is not found;
/// whether its kind fits the message is the domain's call.
async fn own_media(
    state: &CommandState,
    me: Uuid,
    media_id: Uuid,
) -> Result<chat_domain::MediaRef, ApiError> {
    let (media, _) = facts::media(state, me, media_id).await?;
    media.usable().ok_or_else(|| {
        ApiError::not_found("media_not_found", format!("no media {media_id} of yours"))
            .with_field("media_id")
    })
}

/// The source of a forward: its facts in its own chat, and whether the
/// sender may see it there (judged by the source chat's own rules).
async fn forward_source(
    state: &CommandState,
    r: &MessageRef,
    me: Uuid,
) -> Result<ForwardSource, ApiError> {
    let source = chat(state, r.chat_id).await?;
    let found = facts::message(state, r.chat_id, r.message_id, me).await?;
    let Some(found) = found.filter(|_| source.state.is_participant(me)) else {
        return Err(
            ApiError::not_found("message_not_found", "no such message to forward")
                .with_field("forward_of"),
        );
    };
    let visible_to_sender = source.state.can_see(me, found.seq);
    Ok(ForwardSource {
        message: found,
        visible_to_sender,
    })
}

/// Commands on one existing message of a chat.
/// Whether the peer of a direct chat has blocked `me` (user level); false
/// in groups. Never fails open: a failed read is an error, not "no block".
async fn peer_blocks(state: &CommandState, chat: &Chat, me: Uuid) -> Result<bool, ApiError> {
    match chat.peer_of(me) {
        Some(peer) if chat.kind() == Some(chat_domain::ChatKind::Direct) => {
            match existing_user(state, peer).await {
                Ok(u) => Ok(u.state.blocks(me)),
                // A peer without a profile has blocked nobody.
                Err(e) if e.code == "user_not_found" => Ok(false),
                Err(e) => Err(e),
            }
        }
        _ => Ok(false),
    }
}

/// A command on one existing message: its facts and the peer's block are
/// loaded, and the domain decides which of them matter.
async fn on_message(
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
            if !loaded.state.is_participant(me) {
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
            Ok(ChatCommand {
                actor: me,
                at: ctx.at,
                action,
            })
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
        let visible = c.state.can_see(me, message.seq);
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    /// Never moves the marker backwards.
    up_to_seq: u64,
}

/// Move the caller's read marker (never backwards).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/read", tag = "messages", operation_id = "mark_read",
    params(ChatPath),
    request_body = ReadBody,
    responses((status = 200, description = "Done", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "seq_out_of_range"
    ]))),
)]
async fn read(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReadBody>,
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
