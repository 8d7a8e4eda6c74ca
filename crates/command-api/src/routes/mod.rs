//! The command routes, one module per resource, and the helpers they share:
//! id parsing, fact loading and answers.

mod chats;
mod groups;
mod messages;
mod prefs;
mod users;

use axum::extract::FromRef;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use chat_common::ApiError;
use chat_domain::{Chat, ChatEvent, MessageFacts, User, chat_stream, user_stream};
use chat_store::typed::{self, Loaded};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::CommandState;
use crate::pipeline::{self, Outcome, store_error};

/// Every command route and its document (auth routes live in
/// [`crate::auth`]).
pub fn commands<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .merge(users::routes())
        .merge(chats::routes())
        .merge(groups::routes())
        .merge(prefs::routes())
        .merge(messages::routes())
}

/// Path parameters that fail to parse (a malformed id) are a 400 problem.
pub(crate) fn bad_path(r: PathRejection) -> ApiError {
    ApiError::bad_request("invalid_id", r.body_text()).with_field("path")
}

/// The standard command answer plus route-specific ids.
pub(crate) fn answer<E>(outcome: &Outcome<E>, extra: Value) -> Value {
    let mut body = json!({
        "position": outcome.position,
        "stream": outcome.stream,
        "version": outcome.version,
    });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

/// 201 when the command created something, 200 when it found it there.
pub(crate) fn created_or_ok<E>(outcome: &Outcome<E>) -> StatusCode {
    if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
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

pub(crate) async fn chat(state: &CommandState, id: Uuid) -> Result<Loaded<Chat>, ApiError> {
    pipeline::load(state, &chat_stream(id)).await
}

/// One message's facts, folded from its own events (subject index) as seen
/// by `actor`; `None` if no such message was ever sent in this chat.
pub(crate) async fn message_facts(
    state: &CommandState,
    chat_id: Uuid,
    message_id: Uuid,
    actor: Uuid,
) -> Result<Option<MessageFacts>, ApiError> {
    let recs = state
        .store
        .read_subject(&chat_stream(chat_id), message_id)
        .await
        .map_err(store_error)?;
    let events: Vec<ChatEvent> = recs
        .iter()
        .map(typed::decode)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(MessageFacts::fold(actor, &events))
}

/// Like [`message_facts`], 404 when absent.
pub(crate) async fn required_message(
    state: &CommandState,
    chat_id: Uuid,
    message_id: Uuid,
    actor: Uuid,
) -> Result<MessageFacts, ApiError> {
    message_facts(state, chat_id, message_id, actor)
        .await?
        .ok_or_else(|| ApiError::not_found("message_not_found", format!("no message {message_id}")))
}
