//! The command side's part of the OpenAPI 3.1 document, built from the
//! same handler lists as the router (`utoipa_axum::OpenApiRouter` +
//! `routes!`), so the two cannot drift.
//!
//! Handlers declare their own success answers and, in an `x-error-codes`
//! extension, the codes only they answer with. What every command shares is
//! added by [`command_conventions`], next to the layer that causes it
//! (bearer auth, `Idempotency-Key`, `If-Match`, token and pipeline
//! problems); `chat_common::openapi::problem_responses` then turns each
//! operation's codes into its problem responses. The path parameters and
//! domain enums the command routes share are here too.

use chat_common::openapi::{
    BEARER, JSON_BODY_CODES, TOKEN_CODES, add_codes, for_each_operation, header_param,
};
use utoipa::IntoParams;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::SecurityRequirement;
use uuid::Uuid;

/// What every command shares: bearer auth, the `Idempotency-Key` and
/// `If-Match` headers, and the problems of tokens, ids, bodies and the
/// load → decide → append pipeline.
pub fn command_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |path, op| {
        op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        let params = op.parameters.get_or_insert_with(Vec::new);
        params.push(header_param(
            "Idempotency-Key",
            "Repeating a key returns the first answer (same status and body) and appends nothing; \
             the same key on a different request is a 422 `idempotency_key_reused`",
            r"^[\x20-\x7e]{1,255}$",
        ));
        params.push(header_param(
            "If-Match",
            "A stream version (bare or quoted): the command fails with 409 `version_conflict` \
             unless the stream is at it",
            r#"^[\t ]*(W/)?("[0-9]{1,19}"|[0-9]{1,19})[\t ]*$"#,
        ));
        let mut codes = vec![
            "invalid_idempotency_key",
            "invalid_if_match",
            "idempotency_key_reused",
            "payload_too_large",
            "version_conflict",
            "concurrency_conflict",
            "duplicate_event_id",
            "internal_error",
            "service_unavailable",
        ];
        codes.extend(TOKEN_CODES);
        if path.contains('{') {
            codes.push("invalid_id");
        }
        if op.request_body.is_some() {
            codes.extend(JSON_BODY_CODES);
        }
        add_codes(op, &codes);
    });
}

// ---- Shared schemas: path parameters, answers, domain enums. ----

/// `/v1/chats/{chat_id}…`
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChatPath {
    /// The chat.
    pub chat_id: Uuid,
}

/// `/v1/users/{user_id}…`
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user.
    pub user_id: Uuid,
}

/// `/v1/chats/{chat_id}/…/{user_id}`
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The group.
    pub chat_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

/// `/v1/chats/{chat_id}/messages/{message_id}…`
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MessagePath {
    /// The chat.
    pub chat_id: Uuid,
    /// The message.
    pub message_id: Uuid,
}

/// `/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}`
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReactionPath {
    /// The chat.
    pub chat_id: Uuid,
    /// The message.
    pub message_id: Uuid,
    /// The emoji, percent-encoded: 1..=32 bytes of UTF-8, no letters,
    /// digits, whitespace or control characters.
    #[param(
        pattern = r"^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000A-Za-z0-9]{1,8}$"
    )]
    pub emoji: String,
}

// The domain enums' schemas live with the rest of the shared OpenAPI
// plumbing, so the query side documents the same values.
pub use chat_common::openapi::{
    AcceptRequestsFrom, Availability, ChatStatus, LastSeenVisibility, MessageKind,
};

#[cfg(test)]
mod tests;
