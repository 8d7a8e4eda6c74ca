//! `GET /v1/media`: the caller's own uploads that still exist, newest
//! first, with a signed download URL each (keyset by upload time and id).

use axum::Json;
use axum::extract::State;
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiQuery};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as SqlJson;
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::db;
use crate::answers::{Page, Upload};
use crate::{QueryState, cursor};

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(uploads))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UploadsQuery {
    cursor: Option<String>,
    /// 1..=100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Wait (briefly) until the read models reflect this global position.
    #[allow(
        dead_code,
        reason = "honoured by the min_position middleware; declared so unknown-field checks accept it and the document lists it"
    )]
    min_position: Option<u64>,
}

/// Keyset position: (upload time, media id), newest first.
#[derive(Debug, Serialize, Deserialize)]
struct UploadsCursor {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    id: Uuid,
}

/// The caller's uploads (not deleted), newest first.
#[utoipa::path(get, path = "/v1/media", tag = "queries", operation_id = "list_media",
    params(UploadsQuery),
    responses((status = 200, description = "The caller's uploads, a page", body = Page<Upload>)),
    extensions(("x-error-codes" = json!(["invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn uploads(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiQuery(q): ApiQuery<UploadsQuery>,
) -> Result<Json<Page<Upload>>, ApiError> {
    let limit = cursor::limit(q.limit)?;
    let after: Option<UploadsCursor> = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows: Vec<(SqlJson<Upload>, OffsetDateTime, Uuid)> = sqlx::query_as(
        "SELECT jsonb_build_object('media_id', m.media_id, 'kind', m.kind, 'mime', m.mime, \
                'size', m.size, 'sha256', m.sha256, 'width', m.width, 'height', m.height, \
                'duration_ms', m.duration_ms, 'file_name', m.file_name, \
                'uploaded_at', m.uploaded_at), m.uploaded_at, m.media_id \
           FROM rm_media.media m \
          WHERE m.owner_id = $1 AND m.deleted_at IS NULL \
            AND ($2::timestamptz IS NULL OR (m.uploaded_at, m.media_id) < ($2, $3)) \
          ORDER BY m.uploaded_at DESC, m.media_id DESC LIMIT $4",
    )
    .bind(p.user_id)
    .bind(after.as_ref().map(|c| c.at))
    .bind(after.as_ref().map(|c| c.id))
    .bind(cursor::fetch(limit))
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let (page, next) = cursor::page(rows, limit, |(_, at, id)| UploadsCursor {
        at: *at,
        id: *id,
    });
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let items = page
        .into_iter()
        .map(|(SqlJson(mut u), ..)| {
            u.url = s
                .media_urls
                .as_ref()
                .map(|signer| signer.url(u.media_id, now));
            u
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}
