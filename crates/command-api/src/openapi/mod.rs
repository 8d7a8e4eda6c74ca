//! The OpenAPI 3.1 document, built from the same handler lists as the
//! router (`utoipa_axum::OpenApiRouter` + `routes!`), so the two cannot drift.
//!
//! Handlers declare their own success answers and, in an `x-error-codes`
//! extension, the codes only they answer with. What every route of a group
//! shares is added here, next to the layer that causes it:
//! [`command_conventions`] (bearer auth, `Idempotency-Key`, `If-Match`,
//! token and pipeline problems) and [`auth_conventions`] (the per-IP rate
//! limit). [`problem_responses`] then turns each operation's codes into its
//! problem responses, one per status, each listing its codes.
//!
//! `utoipa` and `utoipa_axum` are re-exported for the binary's operational
//! routes, so the workspace pins them in one place.

use std::collections::BTreeMap;

use chat_common::problem::{API_CODES, PROBLEM_JSON, Problem};
use serde_json::Value;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Header, InfoBuilder, OpenApi, OpenApiBuilder, Ref, Required, ResponseBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

pub use utoipa;
pub use utoipa_axum;

use crate::CommandState;

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";
/// The extension listing the problem `code`s an operation can answer with.
pub const ERROR_CODES: &str = "x-error-codes";

/// An empty document with the info, the bearer scheme and the `Problem`
/// schema; route documents are merged into it.
pub fn base() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("chat")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Event-sourced chat backend. Errors are `application/problem+json` \
                     (RFC 9457) with a stable `code`; each operation lists its codes in \
                     `x-error-codes` and in its problem responses.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token from `/v1/auth/*` or an accepted issuer",
                ))
                .build(),
        ),
    );
    components
        .schemas
        .insert(Problem::name().into_owned(), Problem::schema());
    doc
}

/// The command side's document alone (no state needed): the auth and
/// command routes with their conventions and problem responses.
pub fn document() -> OpenApi {
    let (auth, commands) = crate::http::documented_routes::<CommandState>();
    let mut doc = OpenApiRouter::with_openapi(base())
        .merge(auth)
        .merge(commands)
        .merge(crate::media::documented_routes::<CommandState>())
        .into_openapi();
    problem_responses(&mut doc);
    doc
}

/// What every command shares: bearer auth, the `Idempotency-Key` and
/// `If-Match` headers, and the problems of tokens, ids, bodies and the
/// load → decide → append pipeline.
pub fn command_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |path, op| {
        op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        let params = op.parameters.get_or_insert_with(Vec::new);
        params.push(header_param(
            "Idempotency-Key",
            "Repeating a key returns the first answer (same status and body) and appends nothing",
        ));
        params.push(header_param(
            "If-Match",
            "A stream version (bare or quoted): the command fails with 409 `version_conflict` \
             unless the stream is at it",
        ));
        let mut codes = vec![
            "missing_token",
            "invalid_token",
            "token_expired",
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
        if path.contains('{') {
            codes.push("invalid_id");
        }
        if op.request_body.is_some() {
            codes.extend(["malformed_json", "invalid_body", "unsupported_media_type"]);
        }
        add_codes(op, &codes);
    });
}

/// What the media routes share: bearer auth (downloads also take a signed
/// URL instead), and the problems of tokens, ids and the store. Uploads
/// stream their bodies past the idempotency layer, so they take no
/// `Idempotency-Key`: a retried upload is a new media item, and the
/// unattached one is cleaned up after a day.
pub fn media_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |path, op| {
        let mut security = vec![SecurityRequirement::new(BEARER, Vec::<String>::new())];
        if path.contains('{') {
            // A signed URL (`exp`, `sig`) needs no token.
            security.push(SecurityRequirement::default());
        }
        op.security = Some(security);
        let mut codes = vec![
            "missing_token",
            "invalid_token",
            "token_expired",
            "internal_error",
            "service_unavailable",
        ];
        if path.contains('{') {
            codes.push("invalid_id");
        }
        add_codes(op, &codes);
    });
}

/// What every auth route shares: JSON bodies, the per-IP rate limit, the
/// database.
pub fn auth_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |_, op| {
        add_codes(
            op,
            &[
                "malformed_json",
                "invalid_body",
                "unsupported_media_type",
                "payload_too_large",
                "rate_limited",
                "internal_error",
                "service_unavailable",
            ],
        );
    });
}

/// Give every operation one problem response per status among its
/// `x-error-codes` (sorted, deduplicated), each listing its codes and
/// their meanings. Idempotent.
pub fn problem_responses(doc: &mut OpenApi) {
    for_each_operation(doc, |_, op| {
        let codes = codes_of(op);
        if codes.is_empty() {
            return;
        }
        let mut by_status: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for code in &codes {
            if let Some((status, meaning)) = code_info(code) {
                by_status
                    .entry(status)
                    .or_default()
                    .push(format!("* `{code}`: {meaning}"));
            }
        }
        for (status, lines) in by_status {
            let reason = axum::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let mut response = ResponseBuilder::new()
                .description(format!("{reason}. Codes:\n{}", lines.join("\n")))
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(Problem::name())))
                        .build(),
                );
            if status == 429 || status == 503 {
                response = response.header(
                    "Retry-After",
                    Header::new(ObjectBuilder::new().schema_type(Type::Integer)),
                );
            }
            op.responses
                .responses
                .insert(status.to_string(), response.build().into());
        }
        let listed = Value::from(codes);
        op.extensions
            .get_or_insert_with(Default::default)
            .insert(ERROR_CODES.to_owned(), listed);
    });
}

/// The status and meaning of a documented code (HTTP layer or domain).
pub fn code_info(code: &str) -> Option<(u16, &'static str)> {
    if let Some((_, status, meaning)) = API_CODES.iter().find(|(c, ..)| *c == code) {
        return Some((*status, meaning));
    }
    let (_, text) = chat_domain::ALL_CODES.iter().find(|(c, _)| *c == code)?;
    // Domain meanings start with their status: "[409] the chat ...".
    let status = text.get(1..4)?.parse().ok()?;
    Some((status, text.get(6..).unwrap_or(text)))
}

/// The codes an operation lists, sorted and deduplicated.
pub fn codes_of(op: &Operation) -> Vec<String> {
    let mut codes: Vec<String> = op
        .extensions
        .as_ref()
        .and_then(|e| e.get(ERROR_CODES))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    codes.sort();
    codes.dedup();
    codes
}

fn add_codes(op: &mut Operation, codes: &[&str]) {
    let mut all = codes_of(op);
    all.extend(codes.iter().map(|c| (*c).to_owned()));
    all.sort();
    all.dedup();
    let ext = ExtensionsBuilder::new()
        .add(ERROR_CODES, Value::from(all))
        .build();
    op.extensions
        .get_or_insert_with(Default::default)
        .merge(ext);
}

fn header_param(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(String::schema()))
        .build()
}

/// Run `f` on every operation of the document, with its path.
pub fn for_each_operation(doc: &mut OpenApi, mut f: impl FnMut(&str, &mut Operation)) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations_mut(item).into_iter().flatten() {
            f(path, op);
        }
    }
}

fn operations_mut(item: &mut PathItem) -> [Option<&mut Operation>; 8] {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
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
    /// The emoji, percent-encoded.
    pub emoji: String,
}

/// The status of a chat as clients see it (`chat_domain::ChatStatus`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ChatStatus {
    Pending,
    Active,
    Rejected,
    Blocked,
    Closed,
}

/// What a message carries (`chat_domain::MessageKind`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    Voice,
    File,
}

/// Who sees the user's last-seen time (`chat_domain::LastSeenVisibility`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LastSeenVisibility {
    Everyone,
    Contacts,
    Nobody,
}

/// Who may send the user chat requests (`chat_domain::AcceptRequestsFrom`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AcceptRequestsFrom {
    Everyone,
    Nobody,
}

#[cfg(test)]
mod tests;
