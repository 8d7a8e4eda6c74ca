//! The facts a command's decision needs, loaded from the event store: the
//! one place that reads them, so every route (and the media cleanup) loads
//! a fact the same way.
//!
//! * an aggregate, folded ([`chat`], [`existing_user`]), through the
//!   pipeline's cache;
//! * the events about one subject of a stream, decoded ([`subject`]), read
//!   through the store's subject index (no projection lag), and the folds
//!   built on it: a message ([`message`]), a media item ([`media`]),
//!   whether a message is hidden for a user ([`hidden_for`]);
//! * whether a direct chat's peer blocked the actor ([`peer_blocks`]);
//! * in a channel, the records of the subscribers a command concerns, with
//!   the command ([`chat_command`]), or for a check of one user
//!   ([`seen_by`]);
//! * who a text's `@username`s name ([`named_in`]).

use chat_common::ApiError;
use chat_domain::{
    Chat, ChatAction, ChatCommand, ChatEvent, MediaState, MessageFacts, SubscriberFacts, User,
    UserEvent, chat_stream, user_stream,
};
use chat_store::typed::{self, Loaded};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::CommandState;
use crate::pipeline::{self, store_error};

/// The events of `stream` about `subject` (a message, a media item), oldest
/// first.
pub(crate) async fn subject<E: DeserializeOwned>(
    state: &CommandState,
    stream: &str,
    subject: Uuid,
) -> Result<Vec<E>, ApiError> {
    let recs = state
        .store
        .read_subject(stream, subject)
        .await
        .map_err(store_error)?;
    recs.iter()
        .map(typed::decode)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(&e))
}

/// The command `actor` gives `chat`, with the records of the channel
/// subscribers it concerns (the actor, and whom it is about), each folded
/// from the chat stream's events about them: one subject probe per user,
/// whatever the channel's size. Direct chats and groups need none.
pub(crate) async fn chat_command(
    state: &CommandState,
    chat: &Chat,
    actor: Uuid,
    at: OffsetDateTime,
    action: ChatAction,
) -> Result<ChatCommand, ApiError> {
    let mut cmd = ChatCommand::new(actor, at, action);
    if chat.is_channel() {
        let stream = chat_stream(chat.id);
        for user in ChatCommand::concerned(actor, &cmd.action) {
            let events: Vec<ChatEvent> = subject(state, &stream, user).await?;
            cmd.subscribers.push(SubscriberFacts::fold(user, &events));
        }
    }
    Ok(cmd)
}

/// `chat` as checks made for `user` outside `decide` see it: a channel
/// with their subscriber record put in (one subject probe); any other chat
/// as it is.
pub(crate) async fn seen_by<'c>(
    state: &CommandState,
    chat: &'c Chat,
    user: Uuid,
) -> Result<std::borrow::Cow<'c, Chat>, ApiError> {
    if !chat.is_channel() {
        return Ok(std::borrow::Cow::Borrowed(chat));
    }
    let events: Vec<ChatEvent> = subject(state, &chat_stream(chat.id), user).await?;
    let record = SubscriberFacts::fold(user, &events);
    Ok(std::borrow::Cow::Owned(SubscriberFacts::view(
        chat,
        &[record],
    )))
}

/// A chat, folded.
pub(crate) async fn chat(state: &CommandState, id: Uuid) -> Result<Loaded<Chat>, ApiError> {
    pipeline::load(state, &chat_stream(id)).await
}

/// A user's folded stream; 404 when nobody registered under that id.
pub(crate) async fn existing_user(
    state: &CommandState,
    id: Uuid,
) -> Result<Loaded<User>, ApiError> {
    let user: Loaded<User> = pipeline::load(state, &user_stream(id)).await?;
    if user.state.exists() {
        Ok(user)
    } else {
        Err(ApiError::not_found(
            "user_not_found",
            format!("no user {id}"),
        ))
    }
}

/// One message's facts as seen by `actor`; `None` if no such message was
/// ever sent in this chat.
pub(crate) async fn message(
    state: &CommandState,
    chat_id: Uuid,
    message_id: Uuid,
    actor: Uuid,
) -> Result<Option<MessageFacts>, ApiError> {
    let events: Vec<ChatEvent> = subject(state, &chat_stream(chat_id), message_id).await?;
    Ok(MessageFacts::fold(actor, &events))
}

/// Like [`message`], 404 when absent.
pub(crate) async fn required_message(
    state: &CommandState,
    chat_id: Uuid,
    message_id: Uuid,
    actor: Uuid,
) -> Result<MessageFacts, ApiError> {
    message(state, chat_id, message_id, actor)
        .await?
        .ok_or_else(|| ApiError::not_found("message_not_found", format!("no message {message_id}")))
}

/// A media item as its uploader's stream records it, and those events (for
/// what the fold does not keep, such as the file name).
pub async fn media(
    state: &CommandState,
    owner: Uuid,
    media_id: Uuid,
) -> Result<(MediaState, Vec<UserEvent>), ApiError> {
    let events: Vec<UserEvent> = subject(state, &user_stream(owner), media_id).await?;
    Ok((MediaState::fold(media_id, &events), events))
}

/// Whether `user` hid the message `message_id` for themselves.
pub(crate) async fn hidden_for(
    state: &CommandState,
    user: Uuid,
    message_id: Uuid,
) -> Result<bool, ApiError> {
    let events: Vec<UserEvent> = subject(state, &user_stream(user), message_id).await?;
    Ok(events
        .iter()
        .any(|e| matches!(e, UserEvent::MessageHiddenForMe { .. })))
}

/// Whether the peer of a direct chat refuses `me`'s writes (a user-level
/// block, or a deleted account); false in groups. Never fails open: a
/// failed read is an error, not "no block". A peer without a profile has
/// blocked nobody.
pub(crate) async fn peer_blocks(
    state: &CommandState,
    chat: &Chat,
    me: Uuid,
) -> Result<bool, ApiError> {
    match chat.peer_of(me) {
        Some(peer) if chat.kind() == Some(chat_domain::ChatKind::Direct) => {
            let peer: Loaded<User> = pipeline::load(state, &user_stream(peer)).await?;
            Ok(peer.state.refuses_writes_from(me))
        }
        _ => Ok(false),
    }
}

/// The users a text's `@username`s name (the domain keeps the members).
/// No query for a text without an `@`.
pub(crate) async fn named_in(
    state: &CommandState,
    text: Option<&str>,
) -> Result<Vec<Uuid>, ApiError> {
    let names = text
        .map(chat_domain::mentions::usernames)
        .unwrap_or_default();
    state.auth.user_ids_named(&names).await
}
