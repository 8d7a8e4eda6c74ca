//! Receiving one `file` part of an upload: sniffed from its head, streamed
//! into a new object while it is hashed and counted, cut off at its kind's
//! limit, and aborted (the partial object deleted) unless finished.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use bytes::Bytes;
use chat_common::ApiError;
use chat_domain::MessageKind;
use object_store::{ObjectStoreExt, PutResult, WriteMultipart};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::sniff::{self, SNIFF_BYTES, Sniffed};
use super::{MediaLimits, MediaService, object_path};

/// Bytes per object-store part (S3's smallest part is 5 MiB).
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts in flight at once: bounds memory to about this many parts.
const PARTS_IN_FLIGHT: usize = 2;

/// A blob written up to its end, not yet completed in the store.
pub(super) struct Received {
    pub media_id: Uuid,
    pub kind: MessageKind,
    pub sniffed: Sniffed,
    pub size: u64,
    pub sha256: String,
    pub upload: Partial,
}

/// Stream the `file` part into a new object.
pub(super) async fn receive(
    media: &MediaService,
    mut field: Field<'_>,
    requested: Option<MessageKind>,
    limits: &MediaLimits,
) -> Result<Received, ApiError> {
    // Sniff from the head, before anything is stored.
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match field.chunk().await.map_err(body_error)? {
            Some(c) => head.extend_from_slice(&c),
            None => {
                ended = true;
                break;
            }
        }
    }
    if head.is_empty() {
        return Err(ApiError::bad_request("media_empty", "the file is empty").with_field("file"));
    }
    let sniffed = sniff::sniff(&head[..head.len().min(SNIFF_BYTES)]);
    let kind = match requested {
        None => sniffed.kind,
        Some(k) if sniff::allows(&sniffed, k) => k,
        Some(k) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "media_type_not_allowed",
                format!("the content ({}) is not {}", sniffed.mime, label(k)),
            )
            .with_field("file"));
        }
    };
    let limit = limits.for_kind(kind);
    if head.len() as u64 > limit {
        return Err(too_large(limit));
    }
    let media_id = Uuid::now_v7();
    let upload = media
        .objects
        .put_multipart(&object_path(media_id))
        .await
        .map_err(storage_error)?;
    let mut upload = Partial(Some(WriteMultipart::new_with_chunk_size(
        upload, PART_BYTES,
    )));
    let mut hash = Sha256::new();
    hash.update(&head);
    let mut size = head.len() as u64;
    upload.put(Bytes::from(head)).await?;
    if !ended {
        while let Some(chunk) = field.chunk().await.map_err(body_error)? {
            size += chunk.len() as u64;
            if size > limit {
                upload.abort().await;
                return Err(too_large(limit));
            }
            hash.update(&chunk);
            upload.put(chunk).await?;
        }
    }
    Ok(Received {
        media_id,
        kind,
        sniffed,
        size,
        sha256: hex::encode(hash.finalize()),
        upload,
    })
}

/// A multipart upload in progress; aborted (its partial object deleted)
/// unless finished, also when dropped because the client went away.
pub(super) struct Partial(Option<WriteMultipart>);

impl Partial {
    async fn put(&mut self, bytes: Bytes) -> Result<(), ApiError> {
        let Some(w) = self.0.as_mut() else {
            return Err(ApiError::internal(&"upload already closed"));
        };
        w.wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(storage_error)?;
        w.put(bytes);
        Ok(())
    }

    pub(super) async fn finish(mut self) -> Result<PutResult, object_store::Error> {
        match self.0.take() {
            Some(w) => w.finish().await,
            None => Err(object_store::Error::Generic {
                store: "media",
                source: "upload already closed".into(),
            }),
        }
    }

    pub(super) async fn abort(mut self) {
        if let Some(w) = self.0.take()
            && let Err(e) = w.abort().await
        {
            tracing::warn!(error = %e, "aborting a partial upload");
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(w) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = w.abort().await {
                    tracing::warn!(error = %e, "aborting an abandoned upload");
                }
            });
        }
    }
}

pub(super) async fn parse_kind(mut field: Field<'_>) -> Result<MessageKind, ApiError> {
    let mut raw = Vec::new();
    while let Some(c) = field.chunk().await.map_err(body_error)? {
        raw.extend_from_slice(&c);
        if raw.len() > 16 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw);
    match serde_json::from_value::<MessageKind>(Value::String(text.trim().to_owned())) {
        Ok(MessageKind::Text | MessageKind::Poll | MessageKind::Location) | Err(_) => {
            Err(ApiError::bad_request(
                "invalid_media_kind",
                "kind must be one of image, video, audio, voice, file",
            )
            .with_field("kind"))
        }
        Ok(k) => Ok(k),
    }
}

fn label(kind: MessageKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The client's file name, reduced to a safe ASCII name for
/// `Content-Disposition` (no paths, quotes or control characters).
pub(super) fn sanitize_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let clean = clean.trim_start_matches('.').to_owned();
    (!clean.is_empty()).then_some(clean)
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "media_too_large",
        format!("the upload is over the limit of {limit} bytes for its kind"),
    )
    .with_field("file")
}

pub(super) fn body_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is over the upload limit",
        )
    } else {
        ApiError::bad_request("invalid_multipart", e.body_text()).with_field("body")
    }
}

pub(super) fn storage_error(e: object_store::Error) -> ApiError {
    ApiError::unavailable(&e)
}

#[cfg(test)]
mod tests {
    use super::sanitize_file_name;

    #[test]
    fn file_names_lose_paths_quotes_and_leading_dots() {
        assert_eq!(
            sanitize_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            sanitize_file_name("my \"cat\".png").as_deref(),
            Some("my__cat_.png")
        );
        assert_eq!(sanitize_file_name(".htaccess").as_deref(), Some("htaccess"));
        assert_eq!(sanitize_file_name("..."), None);
    }
}
