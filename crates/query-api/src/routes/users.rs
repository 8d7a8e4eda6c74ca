//! `GET /v1/users?q=` (directory by prefix) and `GET /v1/users/{id}`.

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::{ApiPath, ApiQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::WaitQuery;
use super::db;
use crate::answers::{Page, Profile, UserSummary};
use crate::{QueryState, cursor};
use sqlx::types::Json as SqlJson;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(directory))
        .routes(routes!(profile))
}

/// Users whose username or display name starts with `q`.
#[utoipa::path(get, path = "/v1/users", tag = "queries", operation_id = "search_users",
    params(super::PrefixQuery),
    responses((status = 200, description = "Users by username, a page", body = Page<UserSummary>)),
    extensions(("x-error-codes" = json!(["invalid_search", "invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn directory(
    State(s): State<QueryState>,
    AuthUser(_): AuthUser,
    ApiQuery(q): ApiQuery<super::PrefixQuery>,
) -> Result<Json<Page<UserSummary>>, ApiError> {
    let text = super::search_text(&q.q, 64)?;
    let limit = cursor::limit(q.limit)?;
    let after: Option<(String, Uuid)> = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows: Vec<(SqlJson<UserSummary>, String, Uuid)> = sqlx::query_as(
        "SELECT jsonb_build_object('user_id', u.user_id, 'username', u.username, \
                'display_name', u.display_name, 'avatar_url', u.avatar_url), \
                lower(u.username), u.user_id \
           FROM rm_users.users u \
          WHERE (lower(u.username) LIKE $1 OR lower(u.display_name) LIKE $1) \
            AND u.erased_at IS NULL \
            AND ($2::text IS NULL OR (lower(u.username), u.user_id) > ($2, $3)) \
          ORDER BY lower(u.username), u.user_id LIMIT $4",
    )
    .bind(super::like_prefix(text))
    .bind(after.as_ref().map(|a| a.0.clone()))
    .bind(after.as_ref().map(|a| a.1))
    .bind(cursor::fetch(limit))
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let (page, next) = cursor::page(rows, limit, |(_, name, id)| (name.clone(), *id));
    let items = page.into_iter().map(|(SqlJson(user), ..)| user).collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}

/// A user's profile. `last_seen_at` only as their privacy setting allows:
/// everyone; contacts (an accepted direct chat with the caller); nobody.
/// Never between two users one of whom blocked the other.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "queries", operation_id = "get_user",
    params(("user_id" = Uuid, Path), WaitQuery),
    responses((status = 200, description = "The profile", body = Profile)),
    extensions(("x-error-codes" = json!(["user_not_found", "invalid_id"]))))]
async fn profile(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(path): ApiPath<Uuid>,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Json<Profile>, ApiError> {
    let user_id = path;
    let row: Option<(SqlJson<Profile>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('user_id', u.user_id, 'username', u.username, \
                'display_name', u.display_name, 'avatar_url', u.avatar_url, 'bio', u.bio, \
                'deleted', u.erased_at IS NOT NULL, \
                'last_seen_at', CASE \
                    WHEN u.erased_at IS NOT NULL THEN NULL \
                    WHEN u.user_id = $2 THEN ls.at \
                    WHEN EXISTS (SELECT 1 FROM rm_users.blocks b \
                                  WHERE (b.user_id = $1 AND b.blocked_user_id = $2) \
                                     OR (b.user_id = $2 AND b.blocked_user_id = $1)) THEN NULL \
                    WHEN u.last_seen_visible_to = 'everyone' THEN ls.at \
                    WHEN u.last_seen_visible_to = 'contacts' AND EXISTS ( \
                        SELECT 1 FROM rm_chats.chats c WHERE c.kind = 'direct' AND c.status = 'active' \
                           AND ((c.requester_id = $1 AND c.recipient_id = $2) \
                             OR (c.requester_id = $2 AND c.recipient_id = $1))) THEN ls.at \
                    ELSE NULL END) \
           FROM rm_users.users u \
           LEFT JOIN gateway.last_seen ls ON ls.user_id = u.user_id \
          WHERE u.user_id = $1",
    )
    .bind(user_id)
    .bind(p.user_id)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    let (SqlJson(profile),) =
        row.ok_or_else(|| ApiError::not_found("user_not_found", format!("no user {user_id}")))?;
    Ok(Json(profile))
}
