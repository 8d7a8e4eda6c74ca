//! Sending a message: the body, the facts a send needs (the replied-to
//! message, a forward's source, the sender's own media, the peer's block)
//! and the resend answer. Facts about referenced messages are folded from
//! their own events (the store's subject index) on every attempt.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::poll::{Location, PollSpec};
use chat_domain::{
    Chat, ChatAction, ChatEvent, ForwardSource, MessageKind, chat_stream, message_id,
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::CommandState;
use crate::answers::{CommandAnswer, SentAnswer};
use crate::facts::{self, chat, peer_blocks, required_message};
use crate::openapi::{self, ChatPath};
use crate::pipeline::{CommandContext, Outcome, execute};

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(send))
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
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$")]
    client_msg_id: String,
    #[schema(value_type = openapi::MessageKind)]
    kind: MessageKind,
    /// Required for `text` messages, a caption otherwise: not blank, at
    /// most `MAX_TEXT_CHARS` (4096 by default) characters.
    #[schema(
        max_length = 4096,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    text: Option<String>,
    /// An uploaded media item, for media kinds.
    media_id: Option<Uuid>,
    /// A message of the same chat.
    reply_to: Option<Uuid>,
    /// Forward a message; carries no text or media of its own.
    forward_of: Option<MessageRef>,
    /// Members to mention, next to the `@username`s of the text (which
    /// mention the members they name); at most 50 in all.
    #[schema(max_items = 50)]
    mentions: Option<Vec<Uuid>>,
    /// The body of a `poll` message.
    poll: Option<PollBody>,
    /// The body of a `location` message.
    location: Option<LocationBody>,
}

/// A poll: a question and 2 to 10 distinct options.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PollBody {
    #[schema(min_length = 1, max_length = 300)]
    question: String,
    #[schema(min_items = 2, max_items = 10)]
    options: Vec<String>,
    /// Members may choose several options.
    #[serde(default)]
    multiple: bool,
    /// Nobody sees who voted for what (results still count).
    #[serde(default)]
    anonymous: bool,
}

/// A point on the map.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LocationBody {
    #[schema(minimum = -90.0, maximum = 90.0)]
    lat: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    lon: f64,
    #[schema(max_length = 200)]
    name: Option<String>,
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
        "rate_limited", "chat_not_found", "chat_closed", "chat_request_pending", "chat_request_rejected", "not_an_admin",
        "blocked", "you_blocked_chat", "invalid_client_msg_id", "text_required", "text_too_long",
        "media_required", "media_mismatch", "media_not_found", "forward_with_content",
        "message_not_found", "message_deleted", "mention_not_member", "too_many_mentions",
        "invalid_poll", "invalid_location", "not_forwardable"
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
            if b.reply_to.is_some()
                && !facts::seen_by(state, &loaded.state, me)
                    .await?
                    .is_participant(me)
            {
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
            let named = facts::named_in(state, b.text.as_deref()).await?;
            let action = ChatAction::SendMessage {
                message_id: mid,
                client_msg_id: b.client_msg_id.clone(),
                kind: b.kind,
                text: b.text.clone(),
                media,
                reply_to,
                forward_of,
                existing: None,
                blocked_by_peer,
                mentions: b.mentions.clone().unwrap_or_default(),
                named,
                poll: b.poll.as_ref().map(|p| PollSpec {
                    question: p.question.clone(),
                    options: p.options.clone(),
                    multiple: p.multiple,
                    anonymous: p.anonymous,
                }),
                location: b.location.as_ref().map(|l| Location {
                    lat: l.lat,
                    lon: l.lon,
                    name: l.name.clone(),
                }),
            };
            facts::chat_command(state, &loaded.state, me, ctx.at, action).await
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
    let source = facts::seen_by(state, &source.state, me).await?;
    let found = facts::message(state, r.chat_id, r.message_id, me).await?;
    let Some(found) = found.filter(|_| source.is_participant(me)) else {
        return Err(
            ApiError::not_found("message_not_found", "no such message to forward")
                .with_field("forward_of"),
        );
    };
    let visible_to_sender = source.can_see(me, found.seq);
    Ok(ForwardSource {
        message: found,
        visible_to_sender,
    })
}
