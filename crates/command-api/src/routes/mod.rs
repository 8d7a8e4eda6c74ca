//! The command routes, one module per resource, and the helpers they share:
//! id parsing and answers (facts come from [`crate::facts`]).

mod channels;
mod chats;
mod groups;
mod invites;
mod message_ops;
mod messages;
mod moderation;
mod polls;
mod prefs;
mod users;

use axum::extract::FromRef;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;

use crate::CommandState;
use crate::pipeline::Outcome;

/// The route whose requests count against the (tighter) per-user send
/// limit rather than the shared command limit; a test holds it equal to the
/// send route's declared path.
pub(crate) const SEND_MESSAGE: &str = "/v1/chats/{chat_id}/messages";

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
        .merge(channels::routes())
        .merge(moderation::routes())
        .merge(invites::routes())
        .merge(prefs::routes())
        .merge(messages::routes())
        .merge(message_ops::routes())
        .merge(polls::routes())
}

/// 201 when the command created something, 200 when it found it there.
pub(crate) fn created_or_ok<E>(outcome: &Outcome<E>) -> StatusCode {
    if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_send_limit_names_the_declared_send_route() {
        let doc = super::commands::<crate::CommandState>().into_openapi();
        let op = doc
            .paths
            .paths
            .get(super::SEND_MESSAGE)
            .and_then(|item| item.post.as_ref())
            .and_then(|op| op.operation_id.as_deref());
        assert_eq!(op, Some("send_message"));
    }
}
