//! Opaque cursors: clients pass back what they were given, never build one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_common::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn encode<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "the cursor is not one this server gave out",
            )
            .with_field("cursor")
        })
}

/// `limit` for lists: default 50, at most 100.
pub fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(
            ApiError::bad_request("invalid_limit", "limit must be between 1 and 100")
                .with_field("limit"),
        ),
    }
}
