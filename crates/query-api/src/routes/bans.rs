//! `GET /v1/chats/{id}/bans`: the bans standing in a group, for its admins
//! and moderators (whoever may ban may see who is banned).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiPath, ApiQuery};
use sqlx::types::Json as SqlJson;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{WaitQuery, db};
use crate::QueryState;
use crate::answers::{Ban, Items};

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(bans))
}

/// The group's standing bans, newest first (admins and moderators).
#[utoipa::path(get, path = "/v1/chats/{chat_id}/bans", tag = "queries", operation_id = "list_bans",
    params(("chat_id" = Uuid, Path), WaitQuery),
    responses((status = 200, description = "Standing bans", body = Items<Ban>)),
    extensions(("x-error-codes" = json!(["chat_not_found", "not_a_moderator", "invalid_id"]))))]
async fn bans(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Json<Items<Ban>>, ApiError> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM rm_chats.members \
          WHERE chat_id = $1 AND user_id = $2 AND left_seq IS NULL",
    )
    .bind(chat_id)
    .bind(p.user_id)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    match role.as_deref() {
        None => {
            return Err(ApiError::not_found(
                "chat_not_found",
                format!("no chat {chat_id}"),
            ));
        }
        Some("owner" | "admin" | "moderator") => {}
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_a_moderator",
                "only admins and moderators see the bans",
            ));
        }
    }
    let rows: Vec<(SqlJson<Ban>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('user_id', b.user_id, 'banned_by', b.banned_by, \
                'until', b.until, 'reason', b.reason, 'banned_at', b.banned_at) \
           FROM rm_chats.bans b \
          WHERE b.chat_id = $1 AND (b.until IS NULL OR b.until > now()) \
          ORDER BY b.banned_at DESC, b.user_id",
    )
    .bind(chat_id)
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let items = rows.into_iter().map(|(SqlJson(b),)| b).collect();
    Ok(Json(Items { items }))
}
