//! The command routes, one module per resource, and the helpers they share:
//! id parsing and answers (facts come from [`crate::facts`]).

mod chats;
mod groups;
mod messages;
mod prefs;
mod users;

use axum::extract::FromRef;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

use crate::CommandState;
use crate::pipeline::Outcome;

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
