//! `application/problem+json` (RFC 9457): the one error type every route
//! answers with. `code` is a stable snake_case string listed in
//! `docs/errors.md`; infrastructure causes are logged, never sent.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The wire shape of a problem (`application/problem+json`, RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:chat:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Human-readable explanation; not a contract.
    pub detail: String,
    /// Stable machine-readable snake_case code (see `docs/errors.md`).
    pub code: String,
    /// The offending request field or header, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only with `mfa_required`: the token for `POST /v1/auth/login/mfa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub field: Option<String>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// The login's second step ([`Problem::mfa_token`]).
    pub mfa_token: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            retry_after: None,
            mfa_token: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// A dependency failed. The cause is logged here and kept out of the body.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "dependency failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "a dependency is unavailable; retry later",
        )
        .with_retry_after(1)
    }

    /// The request outlived its deadline (`limit`).
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        tracing::warn!(?limit, "request cut off at its deadline");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!("the request took longer than {} s; retry", limit.as_secs()),
        )
        .with_retry_after(1)
    }

    /// Too many queries from one user at once or in a short time.
    pub fn too_many_queries(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many queries; retry after Retry-After",
        )
        .with_retry_after(retry_after)
    }

    /// A bug. The cause is logged here and kept out of the body.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred",
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:chat:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            field: self.field.clone(),
            mfa_token: self.mfa_token.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.problem())).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<JsonRejection> for ApiError {
    /// Every body problem is a 400 (the API contract), whatever axum's own
    /// status would be, except a wrong content type (415) and a body over the
    /// limit (413).
    fn from(r: JsonRejection) -> Self {
        let (status, code) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_body"),
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

/// Every `code` the HTTP layer itself answers with (domain refusals are
/// listed in `chat_domain::ALL_CODES`): `(code, status, meaning)`.
/// `docs/errors.md` must list them all; a test checks it.
pub const API_CODES: &[(&str, u16, &str)] = &[
    ("malformed_json", 400, "the body is not valid JSON"),
    (
        "invalid_body",
        400,
        "the JSON does not fit the endpoint: unknown field, wrong type, missing field",
    ),
    (
        "media_type_not_allowed",
        415,
        "the uploaded content is not of the requested kind",
    ),
    (
        "media_too_large",
        413,
        "the upload is over the size limit of its kind",
    ),
    (
        "invalid_query",
        400,
        "a query parameter is missing or invalid",
    ),
    ("invalid_id", 400, "an id in the path is not a UUID"),
    ("invalid_if_match", 400, "If-Match is not a stream version"),
    (
        "invalid_idempotency_key",
        400,
        "Idempotency-Key is empty, too long or not printable ASCII",
    ),
    (
        "invalid_user_ids",
        400,
        "the list of user ids is empty or too long",
    ),
    (
        "invalid_cursor",
        400,
        "the cursor is not one this server gave out",
    ),
    ("invalid_limit", 400, "limit must be between 1 and 100"),
    (
        "invalid_search",
        400,
        "the search text is empty or too long",
    ),
    (
        "invalid_min_position",
        400,
        "min_position is not a non-negative integer",
    ),
    (
        "invalid_password",
        400,
        "the password is shorter than 8 or longer than 128 characters",
    ),
    (
        "invalid_multipart",
        400,
        "the upload is not a readable multipart/form-data body",
    ),
    ("media_missing", 400, "the upload form has no `file` part"),
    ("media_empty", 400, "the uploaded file is empty"),
    (
        "too_many_files",
        400,
        "an upload form carries at most 10 `file` parts",
    ),
    (
        "invalid_media_kind",
        400,
        "the upload's kind must be image, video, audio, voice or file",
    ),
    ("missing_token", 401, "no bearer token was sent"),
    (
        "invalid_token",
        401,
        "the token's signature, issuer or audience is wrong, or it is malformed",
    ),
    (
        "token_expired",
        401,
        "the access token has expired; refresh it",
    ),
    (
        "session_revoked",
        401,
        "the token's session was signed out (sessions, password change or reset); sign in again",
    ),
    (
        "invalid_credentials",
        401,
        "unknown username or wrong password",
    ),
    (
        "invalid_refresh_token",
        401,
        "the refresh token is unknown, expired or revoked",
    ),
    (
        "refresh_token_reused",
        401,
        "a rotated refresh token was used again: its whole family is revoked",
    ),
    (
        "auditor_role_required",
        403,
        "the audit routes need the auditor role",
    ),
    (
        "signed_url_expired",
        403,
        "the signed media URL has expired; fetch a fresh one",
    ),
    (
        "signature_invalid",
        403,
        "the signed media URL's signature does not match",
    ),
    ("user_not_found", 404, "no user has this id"),
    (
        "mfa_required",
        401,
        "the password was right; send a TOTP code with the mfa_token to POST /v1/auth/login/mfa",
    ),
    (
        "invalid_mfa_token",
        401,
        "the mfa_token is unknown or expired (5 minutes, 5 wrong codes); log in again",
    ),
    (
        "invalid_mfa_code",
        403,
        "the TOTP or recovery code is wrong or was already used",
    ),
    (
        "mfa_already_enabled",
        409,
        "TOTP is already on; turn it off first",
    ),
    (
        "mfa_not_set_up",
        409,
        "set TOTP up first (POST /v1/me/mfa/totp)",
    ),
    ("mfa_not_enabled", 409, "TOTP is not on"),
    (
        "invalid_email",
        400,
        "not an e-mail address (name@domain, at most 254 characters)",
    ),
    (
        "invalid_mail_code",
        400,
        "the mailed code is unknown, used or expired; ask for a new one",
    ),
    (
        "email_taken",
        409,
        "another account has confirmed this address",
    ),
    (
        "session_not_found",
        404,
        "you have no live session with this id",
    ),
    (
        "wrong_password",
        403,
        "the password given is not the account's",
    ),
    (
        "password_required",
        403,
        "deleting the account needs its password in `password`",
    ),
    (
        "mfa_code_required",
        403,
        "TOTP is on: send a `code` or a `recovery_code` as well",
    ),
    (
        "password_not_set",
        409,
        "the account signs in through an external issuer and has no password here",
    ),
    ("stream_not_found", 404, "no events in this stream"),
    (
        "message_not_found",
        404,
        "no such message in this chat (or not visible to the caller)",
    ),
    (
        "media_not_found",
        404,
        "no such media, or not yours to send, or not visible to the caller",
    ),
    (
        "push_endpoint_not_allowed",
        400,
        "the Web Push endpoint does not start with a prefix in PUSH_ENDPOINT_ALLOW",
    ),
    (
        "invalid_push_keys",
        400,
        "keys.p256dh is not a base64url P-256 point, or keys.auth not 16 base64url bytes",
    ),
    (
        "push_kind_not_configured",
        400,
        "this server has no sender for that kind of device (APNs; FCM without PUSH_FCM_CREDENTIALS)",
    ),
    (
        "push_subscription_not_found",
        404,
        "no push subscription of yours has this id",
    ),
    (
        "too_many_push_subscriptions",
        409,
        "a user has at most 20 push subscriptions; remove one first",
    ),
    ("username_taken", 409, "another user has this username"),
    (
        "version_conflict",
        409,
        "If-Match named a version the stream is no longer at",
    ),
    (
        "concurrency_conflict",
        409,
        "the stream changed too often while the command was decided; retry",
    ),
    (
        "duplicate_event_id",
        409,
        "event ids were already used by a different command",
    ),
    (
        "payload_too_large",
        413,
        "the body is over the size limit (64 KiB JSON by default)",
    ),
    (
        "unsupported_media_type",
        415,
        "the body must be sent as application/json",
    ),
    (
        "idempotency_key_reused",
        422,
        "this Idempotency-Key was used with a different request",
    ),
    (
        "rate_limited",
        429,
        "too many requests; wait for Retry-After seconds",
    ),
    (
        "too_many_sockets",
        429,
        "the user holds the most WebSockets a node allows; close one first",
    ),
    (
        "invalid_range",
        416,
        "the Range header is not one satisfiable `bytes=` range",
    ),
    (
        "internal_error",
        500,
        "a bug: the cause is in the server log",
    ),
    (
        "service_unavailable",
        503,
        "a dependency (Postgres, Redis) is down; retry after Retry-After",
    ),
    (
        "server_busy",
        503,
        "too many sign-ins or sign-ups are queued; retry after Retry-After",
    ),
    (
        "request_timeout",
        503,
        "the request outlived REQUEST_TIMEOUT_SECS (UPLOAD_TIMEOUT_SECS for uploads); a command cut off may still have been stored, so retry it with the same client_msg_id or Idempotency-Key",
    ),
    (
        "projection_lagging",
        503,
        "the read models have not reached min_position in time; retry after Retry-After",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_its_code_in_the_type_uri() {
        let e = ApiError::bad_request("malformed_json", "expected value").with_field("text");
        let p = e.problem();
        assert_eq!(p.kind, "urn:chat:problem:malformed_json");
        assert_eq!(p.status, 400);
        assert_eq!(p.title, "Bad Request");
        assert_eq!(p.field.as_deref(), Some("text"));
    }

    #[test]
    fn the_response_is_problem_json_with_retry_after() {
        let res = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            .with_retry_after(3)
            .into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(res.headers()[header::RETRY_AFTER], "3");
    }
}
