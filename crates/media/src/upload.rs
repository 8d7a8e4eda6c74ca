//! `POST /v1/media`: a multipart upload, streamed part by part into the
//! object store while it is hashed and counted. Nothing is buffered whole:
//! at most the sniffed head and a few store parts are in memory.
//!
//! The kind (and so the size limit) is known once the first bytes are
//! sniffed; from then on the upload is cut off with 413 as soon as it passes
//! the kind's limit. Any failure, and a client that goes away, aborts the
//! partial object (a drop guard). The answer is sent only after the
//! `MediaUploaded` event is appended.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use chat_common::ApiError;
use chat_domain::{MediaRef, MessageKind, User, UserAction, UserCommand, user_stream};
use object_store::{ObjectStoreExt, PutResult, WriteMultipart};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sniff::{self, SNIFF_BYTES, Sniffed};
use super::{MULTIPART_SLACK, MediaLimits, MediaService, object_path};
use crate::MediaApp;
use crate::UploadAnswer;
use chat_command_api::openapi;
use chat_command_api::pipeline::{CommandContext, execute};

/// Bytes per object-store part (S3's smallest part is 5 MiB).
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts in flight at once: bounds memory to about this many parts.
const PARTS_IN_FLIGHT: usize = 2;

/// The multipart form of an upload. `kind` (optional, before `file`) asks
/// for a message kind: the content must be of that kind (`voice` takes
/// audio, `file` takes anything); without it the kind is sniffed.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code, reason = "documents the multipart form; parsed by hand")]
pub(super) struct UploadForm {
    #[schema(value_type = Option<openapi::MessageKind>)]
    kind: Option<String>,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload a media item (multipart field `file`); its type is sniffed from the bytes.
#[utoipa::path(
    post, path = "/v1/media", tag = "media", operation_id = "upload_media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Stored and recorded", body = UploadAnswer)),
    extensions(("x-error-codes" = json!([
        "rate_limited", "invalid_multipart", "media_missing", "media_empty", "invalid_media_kind",
        "media_type_not_allowed", "media_too_large", "payload_too_large", "user_not_found"
    ]))),
)]
pub(super) async fn upload(
    State(state): State<MediaApp>,
    mut ctx: CommandContext,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    let me = ctx.actor();
    state.commands.limiter.check_commands(me).await?;
    let media = state.media.clone();
    let limits = media.config.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.largest() + MULTIPART_SLACK) {
        return Err(too_large(limits.largest()));
    }
    let mut form = multipart.map_err(|e| {
        ApiError::bad_request("invalid_multipart", e.body_text()).with_field("body")
    })?;
    let mut requested = None;
    let mut stored = None;
    while let Some(field) = form.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("kind") => requested = Some(parse_kind(field).await?),
            Some("file") => {
                let file_name = field.file_name().and_then(sanitize_file_name);
                stored = Some((receive(&media, field, requested, &limits).await?, file_name));
                break;
            }
            // Unknown fields are skipped (read past by the next call).
            _ => {}
        }
    }
    // The file is stored as it arrives, so a `kind` after it came too late
    // to judge it: refused, not ignored.
    if stored.is_some() {
        while let Some(field) = form.next_field().await.map_err(body_error)? {
            if field.name() == Some("kind") {
                if let Some((blob, _)) = stored.take() {
                    blob.upload.abort().await;
                }
                return Err(ApiError::bad_request(
                    "invalid_multipart",
                    "the `kind` part must come before the `file` part",
                )
                .with_field("kind"));
            }
        }
    }
    let Some((blob, file_name)) = stored else {
        return Err(
            ApiError::bad_request("media_missing", "the form has no `file` part")
                .with_field("file"),
        );
    };
    let media_ref = MediaRef {
        media_id: blob.media_id,
        owner_id: me,
        kind: blob.kind,
        mime: blob.sniffed.mime.clone(),
        size: blob.size,
        width: blob.sniffed.width,
        height: blob.sniffed.height,
        duration_ms: None,
        sha256: blob.sha256.clone(),
    };
    ctx.command_id = Some(format!("upload:{}", blob.media_id));
    // Finish and record in a task of its own: a client that goes away now
    // no longer cancels it, so a complete blob always gets its event (and
    // the cleanup job can find it).
    let task_media = media.clone();
    let record = tokio::spawn(async move {
        blob.upload.finish().await.map_err(storage_error)?;
        let recorded = execute::<User, _, _>(&state.commands, &ctx, &user_stream(me), |_| {
            let action = UserAction::RecordUpload {
                media: media_ref.clone(),
                file_name: file_name.clone(),
            };
            let at = ctx.at;
            async move {
                Ok(UserCommand {
                    actor: me,
                    at,
                    action,
                })
            }
        })
        .await;
        if recorded.is_err() {
            let _ = task_media
                .objects
                .delete(&object_path(media_ref.media_id))
                .await;
        }
        recorded.map(|outcome| (outcome, media_ref))
    });
    let (outcome, m) = record.await.map_err(|e| ApiError::internal(&e))??;
    let body = UploadAnswer::new(&outcome, &m, media.url(m.media_id));
    Ok((StatusCode::CREATED, Json(body)))
}

/// A blob written up to its end, not yet completed in the store.
struct Received {
    media_id: Uuid,
    kind: MessageKind,
    sniffed: Sniffed,
    size: u64,
    sha256: String,
    upload: Partial,
}

/// Stream the `file` part into a new object.
async fn receive(
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
struct Partial(Option<WriteMultipart>);

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

    async fn finish(mut self) -> Result<PutResult, object_store::Error> {
        match self.0.take() {
            Some(w) => w.finish().await,
            None => Err(object_store::Error::Generic {
                store: "media",
                source: "upload already closed".into(),
            }),
        }
    }

    async fn abort(mut self) {
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

async fn parse_kind(mut field: Field<'_>) -> Result<MessageKind, ApiError> {
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

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "media_too_large",
        format!("the upload is over the limit of {limit} bytes for its kind"),
    )
    .with_field("file")
}

fn body_error(e: MultipartError) -> ApiError {
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
