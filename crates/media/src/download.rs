//! `GET /v1/media/{id}`: the blob, for the uploader and the participants of
//! any chat where a live message carries it (bearer token), or for anyone
//! holding a signed URL (`?exp=&sig=`, no token). Everyone else gets 404,
//! so existence is not revealed. Supports one `Range`, `If-None-Match`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::media_url::SignedUrlError;
use chat_common::{ApiPath, ApiQuery};
use futures::TryStreamExt;
use object_store::{GetOptions, GetRange};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use super::object_path;
use super::receive::storage_error;
use super::sniff::inline;
use crate::{Lagging, MediaApp};
use chat_domain::UserEvent;

/// How long a download waits for the read models to reach the log's head.
const CATCH_UP: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct DownloadQuery {
    /// Signed URL: expiry (unix seconds).
    exp: Option<i64>,
    /// Signed URL: hex HMAC-SHA256 of `{id}|{exp}`.
    sig: Option<String>,
}

/// What a download needs to know about the media.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    mime: String,
    size: i64,
    sha256: String,
    file_name: Option<String>,
}

/// Download a media item (participants and the uploader with a token, or anyone with a signed URL).
#[utoipa::path(
    get, path = "/v1/media/{media_id}", tag = "media", operation_id = "download_media",
    params(("media_id" = Uuid, Path), DownloadQuery),
    responses(
        (status = 200, description = "The bytes, as the type sniffed from them at upload \
            (`application/octet-stream` for content a browser must not render)",
            content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"),
        (status = 304, description = "Not modified (If-None-Match)"),
    ),
    extensions(("x-error-codes" = json!([
        "invalid_id", "invalid_query", "missing_token", "invalid_token", "token_expired", "session_revoked",
        "signed_url_expired", "signature_invalid", "media_not_found", "invalid_range",
        "projection_lagging"
    ]))),
)]
pub(super) async fn download(
    State(state): State<MediaApp>,
    ApiPath(path): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
    user: Option<AuthUser>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let media_id = path;
    let q = query;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (viewer, signed_until) = match (q.exp, q.sig.as_deref()) {
        (Some(exp), Some(sig)) => {
            state
                .media
                .signer()
                .verify(media_id, exp, sig, now)
                .map_err(signed_url_error)?;
            (None, Some(exp))
        }
        (None, None) => match user {
            Some(AuthUser(p)) => (Some(p.user_id), None),
            None => return Err(chat_common::auth::missing_token()),
        },
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "a signed URL needs both exp and sig",
            )
            .with_field("sig"));
        }
    };
    let mut row = visible_media(&state, media_id, viewer).await?;
    if row.is_none()
        && let Some(me) = viewer
    {
        // The uploader's own media, straight from their stream: visible
        // right after the upload, before the read model has it.
        row = own_upload(&state, me, media_id).await?;
    }
    if row.is_none() && read_models_caught_up(&state).await? {
        // A recipient's socket shows a message (and its URL) as soon as it
        // commits; the rows this check reads may not be written yet.
        row = visible_media(&state, media_id, viewer).await?;
    }
    let row =
        row.ok_or_else(|| ApiError::not_found("media_not_found", format!("no media {media_id}")))?;
    let size = u64::try_from(row.size).unwrap_or(0);
    let etag = format!("\"{}\"", row.sha256);
    let cache = match signed_until {
        Some(exp) => format!("private, max-age={}", (exp - now).max(0)),
        None => "private, max-age=86400, immutable".to_owned(),
    };
    let mut res = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return res
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| ApiError::internal(&e));
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(h) => match parse_range(h, size) {
            Ok(r) => r,
            Err(()) => {
                let mut res = unsatisfiable(size).into_response();
                res.headers_mut()
                    .insert(header::CONTENT_RANGE, content_range_unsatisfied(size));
                return Ok(res);
            }
        },
        None => None,
    };
    let name = row
        .file_name
        .clone()
        .unwrap_or_else(|| media_id.simple().to_string());
    let disposition = if inline(&row.mime) {
        format!("inline; filename=\"{name}\"")
    } else {
        format!("attachment; filename=\"{name}\"")
    };
    res = res
        .header(header::CONTENT_TYPE, &row.mime)
        .header(header::CONTENT_DISPOSITION, disposition);
    let mut opts = GetOptions::default();
    let (status, len) = match range {
        Some((first, last)) => {
            opts.range = Some(GetRange::Bounded(first..last + 1));
            res = res.header(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{size}"),
            );
            (StatusCode::PARTIAL_CONTENT, last + 1 - first)
        }
        None => (StatusCode::OK, size),
    };
    let got = match state
        .media
        .objects
        .get_opts(&object_path(media_id), opts)
        .await
    {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => {
            tracing::warn!(%media_id, "media recorded but its blob is missing");
            return Err(ApiError::not_found(
                "media_not_found",
                format!("no media {media_id}"),
            ));
        }
        Err(e) => return Err(storage_error(e)),
    };
    let body = Body::from_stream(got.into_stream().map_err(std::io::Error::other));
    res.status(status)
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .map_err(|e| ApiError::internal(&e))
}

/// The media if `viewer` may see it (`None` = a signed URL: anyone).
async fn visible_media(
    state: &MediaApp,
    media_id: Uuid,
    viewer: Option<Uuid>,
) -> Result<Option<Row>, ApiError> {
    sqlx::query_as::<_, Row>(
        "SELECT m.mime, m.size, m.sha256, m.file_name FROM rm_media.media m \
          WHERE m.media_id = $1 AND m.deleted_at IS NULL \
            AND ($2::uuid IS NULL OR m.owner_id = $2 OR EXISTS ( \
                SELECT 1 FROM rm_media.refs r \
                  JOIN rm_chats.members p ON p.chat_id = r.chat_id AND p.user_id = $2 \
                 WHERE r.media_id = $1 AND NOT r.deleted \
                   AND r.seq > p.joined_seq AND (p.left_seq IS NULL OR r.seq <= p.left_seq)))",
    )
    .bind(media_id)
    .bind(viewer)
    .fetch_optional(&state.commands.pool)
    .await
    .map_err(|e| ApiError::unavailable(&e))
}

/// Whether the read models were behind the log's head and have now caught
/// up (so a second look may find what the first did not). Bounded: past
/// [`CATCH_UP`] the answer is 503 `projection_lagging`, never a 404 that
/// may be false.
async fn read_models_caught_up(state: &MediaApp) -> Result<bool, ApiError> {
    state.caught_up(CATCH_UP).await.map_err(|e| match e {
        Lagging::Failed(e) => e,
        Lagging::Behind(reached) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "projection_lagging",
            format!("the read models are at position {reached}, behind the log; retry"),
        )
        .with_retry_after(1),
    })
}

/// `me`'s own upload from their stream's events about it, unless deleted.
async fn own_upload(state: &MediaApp, me: Uuid, media_id: Uuid) -> Result<Option<Row>, ApiError> {
    let (media, events) = chat_command_api::facts::media(&state.commands, me, media_id).await?;
    let Some(media) = media.usable() else {
        return Ok(None);
    };
    let file_name = events.into_iter().find_map(|e| match e {
        UserEvent::MediaUploaded { file_name, .. } => file_name,
        _ => None,
    });
    Ok(Some(Row {
        mime: media.mime,
        size: i64::try_from(media.size).unwrap_or(i64::MAX),
        sha256: media.sha256,
        file_name,
    }))
}

/// One `bytes=` range as inclusive `(first, last)`; `Ok(None)` means "send
/// it all" (several ranges, which we do not combine); `Err` is 416.
pub(super) fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let spec = header.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        (size - n.min(size), size - 1)
    } else {
        let first: u64 = a.parse().map_err(|_| ())?;
        let last = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        if first >= size || first > last {
            return Err(());
        }
        (first, last)
    };
    Ok(Some(range))
}

fn unsatisfiable(size: u64) -> ApiError {
    ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "invalid_range",
        format!("the range is not one single satisfiable `bytes=` range of {size} bytes"),
    )
    .with_field("Range")
}

fn signed_url_error(e: SignedUrlError) -> ApiError {
    match e {
        SignedUrlError::Expired => ApiError::new(
            StatusCode::FORBIDDEN,
            "signed_url_expired",
            "the signed URL has expired; fetch a fresh one",
        ),
        SignedUrlError::Invalid => ApiError::new(
            StatusCode::FORBIDDEN,
            "signature_invalid",
            "the signed URL's signature does not match",
        ),
    }
    .with_field("sig")
}

/// A 416 carries `Content-Range: bytes */size`.
fn content_range_unsatisfied(size: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes */{size}"))
        .unwrap_or(HeaderValue::from_static("bytes */0"))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_single_and_clamped_to_the_size() {
        assert_eq!(parse_range("bytes=100-199", 1000), Ok(Some((100, 199))));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok(Some((990, 999))));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-1", 1000), Err(()));
        assert_eq!(parse_range("items=0-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=-0", 1000), Err(()));
    }
}
