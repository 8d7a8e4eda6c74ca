//! `GET /v1/chats/search?q=`: public channels by title prefix, for anyone
//! to find and subscribe to (`POST /v1/chats/{id}/subscribe`).

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::ApiQuery;
use chat_common::auth::AuthUser;
use sqlx::types::Json as SqlJson;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::db;
use crate::answers::{ChannelSummary, Page};
use crate::{QueryState, cursor};

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(search_channels))
}

/// Public channels whose title starts with `q`, by title; whether the
/// caller is subscribed. Private channels are found only through a link.
#[utoipa::path(get, path = "/v1/chats/search", tag = "queries", operation_id = "search_channels",
    params(super::PrefixQuery),
    responses((status = 200, description = "Public channels by title, a page", body = Page<ChannelSummary>)),
    extensions(("x-error-codes" = json!(["invalid_search", "invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn search_channels(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiQuery(q): ApiQuery<super::PrefixQuery>,
) -> Result<Json<Page<ChannelSummary>>, ApiError> {
    let text = super::search_text(&q.q, 64)?;
    let limit = cursor::limit(q.limit)?;
    let after: Option<(String, Uuid)> = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows: Vec<(SqlJson<ChannelSummary>, String, Uuid)> = sqlx::query_as(
        "SELECT jsonb_build_object('chat_id', c.chat_id, 'title', c.title, \
                'description', c.description, 'avatar_url', c.avatar_url, \
                'subscribers', c.members_count, \
                'subscribed', EXISTS (SELECT 1 FROM rm_chats.members m \
                   WHERE m.chat_id = c.chat_id AND m.user_id = $5 AND m.left_seq IS NULL)), \
                lower(c.title), c.chat_id \
           FROM rm_chats.chats c \
          WHERE c.public AND lower(c.title) LIKE $1 \
            AND ($2::text IS NULL OR (lower(c.title), c.chat_id) > ($2, $3)) \
          ORDER BY lower(c.title), c.chat_id LIMIT $4",
    )
    .bind(super::like_prefix(text))
    .bind(after.as_ref().map(|a| a.0.clone()))
    .bind(after.as_ref().map(|a| a.1))
    .bind(cursor::fetch(limit))
    .bind(p.user_id)
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let (page, next) = cursor::page(rows, limit, |(_, title, id)| (title.clone(), *id));
    let items = page.into_iter().map(|(SqlJson(c), ..)| c).collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}
