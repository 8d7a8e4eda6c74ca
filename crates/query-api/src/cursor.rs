//! Opaque cursors (clients pass back what they were given, never build
//! one), list limits, and the one keyset page every list route cuts.

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

/// Rows to fetch for a page of `limit`: one more, which only tells whether
/// there is a next page.
pub fn fetch(limit: i64) -> i64 {
    limit + 1
}

/// Cut a page of `limit` from rows fetched with [`fetch`]: the rows kept,
/// and the cursor to the next page (made by `next` from the last row kept)
/// when there is one.
pub fn page<R, C: Serialize>(
    rows: Vec<R>,
    limit: i64,
    next: impl FnOnce(&R) -> C,
) -> (Vec<R>, Option<String>) {
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    let rows: Vec<R> = rows.into_iter().take(keep).collect();
    let cursor = if more {
        rows.last().map(|r| encode(&next(r)))
    } else {
        None
    };
    (rows, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_the_limit_and_names_the_next_only_when_there_is_one() {
        let (rows, next) = page(vec![1, 2, 3], 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode::<i32>(&next.unwrap()).unwrap(), 2);
        let (rows, next) = page(vec![1, 2], 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert!(next.is_none());
    }
}
