//! `GET /v1/me`: the caller's profile, settings and total unread.

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::db;
use sqlx::types::Json as SqlJson;

use crate::QueryState;

/// `total_unread`: the same figure as the push badge.
const TOTAL_UNREAD: &str = chat_common::total_unread!();
use crate::answers::Me;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// The caller: profile, settings, and unread messages over chats that are
/// not archived (muted ones included: muting silences, it does not read).
#[utoipa::path(get, path = "/v1/me", tag = "queries", operation_id = "get_me",
    responses((status = 200, description = "The caller", body = Me)),
    extensions(("x-error-codes" = json!(["user_not_found"]))))]
async fn me(State(s): State<QueryState>, AuthUser(p): AuthUser) -> Result<Json<Me>, ApiError> {
    let row: Option<(SqlJson<Me>,)> = sqlx::query_as(&format!(
        "SELECT jsonb_build_object( \
            'user_id', u.user_id, 'username', u.username, 'display_name', u.display_name, \
            'avatar_url', u.avatar_url, 'bio', u.bio, 'last_seen_at', ls.at, \
            'settings', jsonb_build_object('read_receipts', u.read_receipts, \
                'last_seen_visible_to', u.last_seen_visible_to, \
                'accept_requests_from', u.accept_requests_from, \
                'push_preview', u.push_preview), \
            'total_unread', {TOTAL_UNREAD}) \
           FROM rm_users.users u \
           LEFT JOIN gateway.last_seen ls ON ls.user_id = u.user_id \
          WHERE u.user_id = $1"
    ))
    .bind(p.user_id)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    let (SqlJson(me),) =
        row.ok_or_else(|| ApiError::not_found("user_not_found", "no profile yet for this user"))?;
    Ok(Json(me))
}
