//! `GET /v1/chats/{id}/messages/{message_id}/edits`: a message's edit
//! history, every version oldest first, for whoever can see the message
//! (inside their window, not hidden by them). Nothing of a message deleted
//! for everyone is served: the projection dropped its versions with it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::{ApiPath, ApiQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{WaitQuery, access, db};
use crate::QueryState;
use crate::answers::{Items, Version};

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(edits))
}

/// Every version of a message, oldest first: the text as sent, then each
/// edit's (the last one is the current text).
#[utoipa::path(get, path = "/v1/chats/{chat_id}/messages/{message_id}/edits", tag = "queries",
    operation_id = "list_edits",
    params(("chat_id" = Uuid, Path), ("message_id" = Uuid, Path), WaitQuery),
    responses((status = 200, description = "Every version, oldest first", body = Items<Version>)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "message_not_found", "message_deleted", "invalid_id"
    ]))))]
async fn edits(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Json<Items<Version>>, ApiError> {
    let (chat_id, message_id) = path;
    let a = access(&s.pool, chat_id, p.user_id).await?;
    let msg: Option<(i64, Option<String>, Option<String>, bool)> = sqlx::query_as(
        "SELECT x.seq, x.text, to_jsonb(x.edited_at) #>> '{}', x.deleted_at IS NOT NULL \
           FROM rm_messages.messages x \
          WHERE x.chat_id = $1 AND x.message_id = $2 AND x.seq > $3 AND x.seq <= $4 \
            AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                             WHERE h.user_id = $5 AND h.message_id = x.message_id)",
    )
    .bind(chat_id)
    .bind(message_id)
    .bind(a.lower)
    .bind(a.upper)
    .bind(p.user_id)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    let Some((seq, text, edited_at, deleted)) = msg else {
        return Err(ApiError::not_found(
            "message_not_found",
            format!("no message {message_id}"),
        ));
    };
    if deleted {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "message_deleted",
            "the message was deleted for everyone; nothing of it is kept",
        ));
    }
    // Each kept version was written by the edit before it, or by the send
    // (then it has no `edited_at`).
    let earlier: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT v.text, CASE WHEN v.written_at = x.sent_at THEN NULL \
                ELSE to_jsonb(v.written_at) #>> '{}' END \
           FROM rm_messages.versions v \
           JOIN rm_messages.messages x ON x.chat_id = v.chat_id AND x.seq = v.seq \
          WHERE v.chat_id = $1 AND v.seq = $2 ORDER BY v.replaced_at",
    )
    .bind(chat_id)
    .bind(seq)
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let current = (text.unwrap_or_default(), edited_at);
    let items = earlier
        .into_iter()
        .chain(std::iter::once(current))
        .enumerate()
        .map(|(n, (text, edited_at))| Version {
            version: n as u32 + 1,
            text,
            edited_at,
        })
        .collect();
    Ok(Json(Items { items }))
}
