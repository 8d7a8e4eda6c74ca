//! The extractors every route uses, so bad input always answers
//! problem+json (400) instead of axum's plain-text rejections:
//! [`ApiJson`] (malformed JSON, unknown fields, wrong types; and
//! [`ApiOptionalJson`] where the body may be left out), [`ApiPath`]
//! (a malformed id in the path: `invalid_id`) and [`ApiQuery`] (a query
//! string that does not fit: `invalid_query`).

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// An optional JSON body: none (or `null`) is `T::default()`; otherwise
/// the same problems as [`ApiJson`] (413 over the limit, `malformed_json`,
/// `invalid_body`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiOptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiOptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(r.status(), "payload_too_large", r.body_text())
                } else {
                    ApiError::bad_request("invalid_body", r.body_text())
                }
            })?;
        if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
            return Ok(ApiOptionalJson(T::default()));
        }
        serde_json::from_slice(&body)
            .map(ApiOptionalJson)
            .map_err(|e| {
                let code = if e.is_syntax() || e.is_eof() {
                    "malformed_json"
                } else {
                    "invalid_body"
                };
                ApiError::bad_request(code, e.to_string())
            })
    }
}

/// Path parameters; one that does not parse (a malformed id) is a 400
/// `invalid_id` naming the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(r) => Err(ApiError::bad_request("invalid_id", r.body_text()).with_field("path")),
        }
    }
}

/// The query string; one that does not fit is a 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// A list of [`whole_number`]s that fit a `u32` (ids of small sets, such
/// as a poll's options).
pub fn whole_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    let all = <Vec<serde_json::Number> as serde::Deserialize>::deserialize(d)?;
    all.into_iter()
        .map(|n| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
                .map(|f| f as u32)
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
        })
        .collect()
}

/// `#[serde(deserialize_with = "chat_common::json::whole_number")]`: a
/// non-negative integer, also when written with a zero fraction (`103.0`),
/// which JSON Schema counts as the integer its documents promise.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = <serde_json::Number as serde::Deserialize>::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a non-negative integer")))
}
