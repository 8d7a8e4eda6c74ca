//! Who is asking, and under which ids: the per-request part of a command.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chat_common::ApiError;
use chat_common::auth::{AuthUser, Principal};
use chat_store::Metadata;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::CommandState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REQUEST_ID: &str = "x-request-id";

/// The authenticated actor and the ids that end up in event metadata and
/// tracing spans.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub principal: Principal,
    pub at: OffsetDateTime,
    /// `X-Request-Id` (set by the request-id layer when the client sent none).
    pub request_id: Option<String>,
    /// The command's id: `Idempotency-Key`, or a route's own (client_msg_id).
    pub command_id: Option<String>,
    /// `If-Match: <version>`: make the command strict.
    pub if_match: Option<u64>,
}

impl CommandContext {
    pub fn actor(&self) -> Uuid {
        self.principal.user_id
    }

    pub fn metadata(&self) -> Metadata {
        Metadata {
            actor: Some(self.principal.user_id),
            command_id: self.command_id.clone(),
            correlation_id: self.request_id.clone(),
            // Events are caused directly by the command.
            causation_id: self.command_id.clone().or_else(|| self.request_id.clone()),
            tenant: None,
        }
    }
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `If-Match` takes a stream version, bare or as a quoted entity tag.
///
/// Exactly `7`, `"7"` or `W/"7"` (up to 19 digits, space around allowed):
/// the shape the OpenAPI document gives the header.
fn parse_if_match(raw: &str) -> Result<u64, ApiError> {
    let tag = raw.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let digits = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag);
    let shaped = (1..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    shaped
        .then(|| digits.parse().ok())
        .flatten()
        .ok_or_else(invalid_if_match)
}

fn invalid_if_match() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_if_match",
        "If-Match must be a stream version, e.g. `If-Match: 7`",
    )
    .with_field("If-Match")
}

impl<S> FromRequestParts<S> for CommandContext
where
    S: Send + Sync,
    CommandState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let command_state = CommandState::from_ref(state);
        let AuthUser(principal) = AuthUser::from_request_parts(parts, &command_state).await?;
        // A user first seen through an external issuer's token gets a profile.
        command_state.auth.ensure_profile(&principal).await?;
        // A value that is not text is a bad If-Match, never a missing one
        // (the command would run unguarded).
        let if_match = parts
            .headers
            .get("if-match")
            .map(|v| {
                v.to_str()
                    .map_err(|_| invalid_if_match())
                    .and_then(parse_if_match)
            })
            .transpose()?;
        Ok(CommandContext {
            principal,
            at: OffsetDateTime::now_utc(),
            request_id: header(parts, REQUEST_ID),
            command_id: header(parts, IDEMPOTENCY_KEY),
            if_match,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_if_match;

    #[test]
    fn if_match_accepts_bare_and_quoted_versions() {
        assert_eq!(parse_if_match("7").unwrap(), 7);
        assert_eq!(parse_if_match("\"7\"").unwrap(), 7);
        assert_eq!(parse_if_match("W/\"12\"").unwrap(), 12);
        assert_eq!(parse_if_match("abc").unwrap_err().code, "invalid_if_match");
    }

    /// Looser than the documented shape before (the API fuzzer found it):
    /// repeated prefixes and quotes, a sign, unbalanced quotes.
    #[test]
    fn if_match_refuses_what_its_documented_shape_does_not_allow() {
        for raw in [
            "W/W/5",
            "\"\"5\"\"",
            "+5",
            "\"5",
            "5\"",
            "",
            "W/",
            "12345678901234567890",
        ] {
            assert_eq!(
                parse_if_match(raw).unwrap_err().code,
                "invalid_if_match",
                "{raw:?}"
            );
        }
        assert_eq!(parse_if_match(" W/5 ").unwrap(), 5);
    }
}
