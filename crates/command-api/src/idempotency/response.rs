//! The answer a command produced, as stored and replayed byte for byte.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use chat_common::ApiError;
use chat_common::problem::PROBLEM_JSON;
use serde::Serialize;

/// Header set on every answer served from the idempotency store.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A command's answer: status, exact body bytes and content type.
///
/// Only these three are kept, so headers such as `Retry-After` are not
/// replayed (they belong to 429/503 answers, and 5xx answers are never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The exact bytes sent the first time.
    pub body: Vec<u8>,
    pub content_type: String,
    /// `Retry-After` of an answer that asks for a retry (429, a persistent
    /// conflict, 503). Such answers are never stored: the retry must run.
    pub retry_after: Option<String>,
}

impl StoredResponse {
    /// A JSON answer. A value that cannot be serialized becomes a 500 (which
    /// is never stored, so a retry runs the command again).
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self {
                status: status.as_u16(),
                body,
                content_type: "application/json".to_owned(),
                retry_after: None,
            },
            Err(e) => Self::from_error(&ApiError::internal(&e)),
        }
    }

    /// The problem+json rendering of an error.
    pub fn from_error(err: &ApiError) -> Self {
        let body = serde_json::to_vec(&err.problem()).unwrap_or_default();
        Self {
            status: err.status.as_u16(),
            body,
            content_type: PROBLEM_JSON.to_owned(),
            retry_after: err.retry_after.map(|s| s.to_string()),
        }
    }

    /// Into an HTTP response; a replay carries `Idempotent-Replayed: true`.
    pub fn into_response(self, replayed: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = HeaderValue::from_str(&self.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let mut res = Response::new(Body::from(self.body));
        *res.status_mut() = status;
        res.headers_mut().insert(header::CONTENT_TYPE, content_type);
        if let Some(v) = self
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if replayed {
            res.headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
        }
        res
    }
}

impl From<ApiError> for StoredResponse {
    fn from(err: ApiError) -> Self {
        Self::from_error(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_response_is_marked_and_keeps_its_bytes() {
        let stored = StoredResponse::json(StatusCode::CREATED, &serde_json::json!({"a": 1}));
        let res = stored.clone().into_response(true);
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(res.headers()[IDEMPOTENT_REPLAYED], "true");
        assert!(
            stored
                .into_response(false)
                .headers()
                .get(IDEMPOTENT_REPLAYED)
                .is_none()
        );
    }

    #[test]
    fn an_error_becomes_problem_json() {
        let stored: StoredResponse = ApiError::bad_request("invalid_body", "nope").into();
        assert_eq!(stored.status, 400);
        assert_eq!(stored.content_type, PROBLEM_JSON);
        let p: chat_common::problem::Problem = serde_json::from_slice(&stored.body).unwrap();
        assert_eq!(p.code, "invalid_body");
    }
}
