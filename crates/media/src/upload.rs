//! `POST /v1/media`: a multipart upload of one or several files, each
//! streamed into the object store as it arrives ([`super::receive`]).
//! Nothing is buffered whole: at most the sniffed head and a few store
//! parts of the file being read are in memory.
//!
//! Each file is judged alone (its kind, its limit): a refused one leaves
//! nothing and the others go on. A form refused as a whole stores nothing.
//! The answer is sent only after each stored file's `MediaUploaded` event
//! is appended.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_domain::{MediaRef, MessageKind, User, UserAction, UserCommand, user_stream};
use object_store::ObjectStoreExt;
use serde::Deserialize;
use utoipa::ToSchema;

use super::receive::{
    Received, body_error, parse_kind, receive, sanitize_file_name, storage_error, too_large,
};
use super::{MULTIPART_SLACK, MediaLimits, MediaService, object_path};
use crate::MediaApp;
use crate::answer::{UploadAnswer, UploadResult, UploadResults};
use chat_command_api::openapi;
use chat_command_api::pipeline::{CommandContext, execute};

/// Most `file` parts one form may carry.
pub const MAX_FILES: usize = 10;

/// The multipart form of an upload: up to [`MAX_FILES`] `file` parts, each
/// optionally after a `kind` part that asks for a message kind for the file
/// that follows (the content must be of that kind: `voice` takes audio,
/// `file` takes anything); without it the kind is sniffed. The form's total
/// is at most the largest kind's limit.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code, reason = "documents the multipart form; parsed by hand")]
pub(super) struct UploadForm {
    #[schema(value_type = Option<openapi::MessageKind>)]
    kind: Option<String>,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload media (multipart `file` parts, each judged alone; types are sniffed
/// from the bytes). One file answers its media (or its problem); several
/// answer a list with one entry per file.
#[utoipa::path(
    post, path = "/v1/media", tag = "media", operation_id = "upload_media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "One file, stored and recorded", body = UploadAnswer),
        (status = 200, description = "Several files: each one's result", body = UploadResults),
    ),
    extensions(("x-error-codes" = json!([
        "rate_limited", "invalid_multipart", "media_missing", "media_empty", "invalid_media_kind",
        "media_type_not_allowed", "media_too_large", "payload_too_large", "user_not_found",
        "too_many_files"
    ]))),
)]
pub(super) async fn upload(
    State(state): State<MediaApp>,
    ctx: CommandContext,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let me = ctx.actor();
    state.commands.limiter.check_commands(me).await?;
    let limits = state.media.config.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.largest() + MULTIPART_SLACK) {
        return Err(too_large(limits.largest()));
    }
    let form = multipart.map_err(|e| {
        ApiError::bad_request("invalid_multipart", e.body_text()).with_field("body")
    })?;
    // Every file is received (or refused) before any is recorded: a form
    // refused at its end stores nothing (the partial objects are aborted).
    let files = read_form(&state.media, form, &limits).await?;
    let single = files.len() == 1;
    let mut results = Vec::with_capacity(files.len());
    for file in files {
        results.push(match file {
            Ok((blob, name)) => record(&state, &ctx, blob, name).await,
            Err(e) => Err(e),
        });
    }
    if single && let Some(result) = results.pop() {
        return result.map(|a| (StatusCode::CREATED, Json(a)).into_response());
    }
    let items = results.into_iter().map(UploadResult::from).collect();
    Ok((StatusCode::OK, Json(UploadResults { items })).into_response())
}

type File = Result<(Received, Option<String>), ApiError>;

/// The form's `file` parts in order, each received or refused on its own;
/// an error of the form itself (its syntax, a `kind` with no file after
/// it, too many files, none) refuses all of it.
async fn read_form(
    media: &MediaService,
    mut form: Multipart,
    limits: &MediaLimits,
) -> Result<Vec<File>, ApiError> {
    let mut files: Vec<File> = Vec::new();
    let mut requested: Option<Result<MessageKind, ApiError>> = None;
    while let Some(field) = form.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("kind") => requested = Some(parse_kind(field).await),
            Some("file") => {
                if files.len() == MAX_FILES {
                    return Err(ApiError::bad_request(
                        "too_many_files",
                        format!("a form carries at most {MAX_FILES} files"),
                    )
                    .with_field("file"));
                }
                let name = field.file_name().and_then(sanitize_file_name);
                let file = match requested.take().transpose() {
                    Ok(kind) => receive(media, field, kind, limits).await,
                    Err(e) => Err(e),
                };
                // A broken body ends the form; a refused file only itself.
                if let Err(e) = &file
                    && matches!(e.code, "invalid_multipart" | "payload_too_large")
                {
                    return Err(file.err().unwrap_or_else(|| ApiError::internal(&"form")));
                }
                files.push(file.map(|blob| (blob, name)));
            }
            // Unknown fields are skipped (read past by the next call).
            _ => {}
        }
    }
    // A `kind` judges the file after it: one after the last file came too
    // late to judge anything, so the form is refused, not half-applied.
    if requested.is_some() {
        return Err(ApiError::bad_request(
            "invalid_multipart",
            "a `kind` part must come before the `file` part it is for",
        )
        .with_field("kind"));
    }
    if files.is_empty() {
        return Err(
            ApiError::bad_request("media_missing", "the form has no `file` part")
                .with_field("file"),
        );
    }
    Ok(files)
}

/// Finish one received blob and record it (`UploadMedia` through the
/// command pipeline), in a task of its own: a client that goes away now no
/// longer cancels it, so a complete blob always gets its event (and the
/// cleanup job can find it).
async fn record(
    state: &MediaApp,
    ctx: &CommandContext,
    blob: Received,
    file_name: Option<String>,
) -> Result<UploadAnswer, ApiError> {
    let me = ctx.actor();
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
    let mut ctx = ctx.clone();
    ctx.command_id = Some(format!("upload:{}", blob.media_id));
    let state = state.clone();
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
            let _ = state
                .media
                .objects
                .delete(&object_path(media_ref.media_id))
                .await;
        }
        let (outcome, m) = recorded.map(|outcome| (outcome, media_ref))?;
        Ok::<_, ApiError>(UploadAnswer::new(&outcome, &m, state.media.url(m.media_id)))
    });
    record.await.map_err(|e| ApiError::internal(&e))?
}
