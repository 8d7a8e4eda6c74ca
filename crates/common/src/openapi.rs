//! OpenAPI plumbing every service's document shares: the base document
//! (info, bearer scheme, the `Problem` schema), the `x-error-codes`
//! extension each operation lists its problem codes in, and
//! [`problem_responses`], which turns those codes into one problem response
//! per status. Each service adds the conventions of its own layers
//! (`chat_command_api::openapi::command_conventions`,
//! `chat_auth::auth_conventions`, `chat_media::media_conventions`).
//!
//! Field patterns state the domain's checks (no control characters, not
//! blank, trimmed lengths). They never use `\s` or `\S`: ECMA-262's
//! whitespace, which JSON Schema patterns use, and Rust's `trim`
//! (`White_Space`) disagree on U+0085 and U+FEFF, so whitespace is spelled
//! out as Rust's set: `\t-\r`, space, U+0085, U+00A0, U+1680,
//! U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
//!
//! `utoipa` and `utoipa_axum` are re-exported so the workspace pins them in
//! one place.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Header, InfoBuilder, OpenApi, OpenApiBuilder, Ref, Required, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

pub use utoipa;
pub use utoipa_axum;

use crate::problem::{API_CODES, PROBLEM_JSON, Problem};

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

pub fn add_codes(op: &mut Operation, codes: &[&str]) {
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

/// An optional header parameter whose values match `pattern`.
pub fn header_param(
    name: &str,
    description: &str,
    pattern: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        ))
        .build()
}

/// Run `f` on every operation of the document, with its path.
/// The problems of a JSON body read by `ApiJson`: not JSON, not the
/// route's shape, not `application/json`, over the route's limit.
pub const JSON_BODY_CODES: [&str; 4] = [
    "malformed_json",
    "invalid_body",
    "unsupported_media_type",
    "payload_too_large",
];

/// The problems of a bearer token: none, not ours or broken, expired, or
/// issued in a session since signed out.
pub const TOKEN_CODES: [&str; 4] = [
    "missing_token",
    "invalid_token",
    "token_expired",
    "session_revoked",
];

/// What every route behind a bearer token shares: the `bearer` security
/// requirement and the problems of tokens, ids (on paths with one) and
/// dependencies.
pub fn bearer_conventions(path: &str, op: &mut Operation) {
    op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let mut codes = vec!["internal_error", "service_unavailable"];
    codes.extend(TOKEN_CODES);
    if path.contains('{') {
        codes.push("invalid_id");
    }
    add_codes(op, &codes);
}

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

// ---- The schemas of domain enums answers carry (the values are checked
// against the domain's own in `chat_command_api::openapi`'s tests). ----

/// The kind of a chat (`chat_domain::ChatKind`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ChatKind {
    Direct,
    Group,
    Channel,
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
    Poll,
    Location,
}

/// What a system entry in history records
/// (`chat_domain::chat::system::SystemAction`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SystemAction {
    Created,
    Added,
    Joined,
    Left,
    Removed,
    Banned,
    RoleChanged,
    OwnershipTransferred,
    InfoUpdated,
    Renamed,
    Pinned,
    Unpinned,
    Closed,
}

/// A status a user may choose (`chat_domain::user::status::Availability`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Away,
    Dnd,
    Invisible,
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
