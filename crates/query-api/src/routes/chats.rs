//! `GET /v1/chats` (the caller's chat list) and `GET /v1/chats/{id}`.

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::{ApiPath, ApiQuery};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::WaitQuery;
use super::{ACTIVITY, LISTED, UNREAD_COUNTS, access, db};
use crate::answers::{ChatDetail, ChatListItem, Page};
use crate::{QueryState, cursor};
use sqlx::types::Json as SqlJson;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Filter {
    /// Everything but incoming requests and archived chats.
    #[default]
    Active,
    /// Pending requests others sent to the caller.
    Requests,
    Archived,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[param(inline)]
    filter: Option<Filter>,
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

/// Keyset position in the list: (last activity, chat id), newest first.
#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    chat: Uuid,
}

/// The caller's chats, newest activity first.
#[utoipa::path(get, path = "/v1/chats", tag = "queries", operation_id = "list_chats",
    params(ListQuery),
    responses((status = 200, description = "The caller's chats, a page", body = Page<ChatListItem>)),
    extensions(("x-error-codes" = json!(["invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn list(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<ChatListItem>>, ApiError> {
    let limit = cursor::limit(q.limit)?;
    let after: Option<ListCursor> = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let filter = match q.filter.unwrap_or_default() {
        Filter::Active => {
            "NOT uc.archived AND NOT (c.status IN ('pending', 'rejected') AND c.recipient_id = $1)"
        }
        Filter::Requests => "c.status = 'pending' AND c.recipient_id = $1",
        Filter::Archived => "uc.archived",
    };
    let rows: Vec<(SqlJson<ChatListItem>, OffsetDateTime, Uuid)> = sqlx::query_as(&format!(
        "SELECT jsonb_build_object( \
            'chat_id', c.chat_id, 'kind', c.kind, \
            'title', CASE WHEN c.kind = 'group' THEN c.title ELSE peer.display_name END, \
            'peer_id', peer.user_id, \
            'status', CASE WHEN c.status = 'rejected' AND c.requester_id = $1 THEN 'pending' \
                           ELSE c.status END, \
            'role', m.role, 'members_count', CASE WHEN m.left_seq IS NULL THEN c.members_count END, \
            'last_message', CASE \
                WHEN m.left_seq IS NULL \
                 AND (c.last_message->>'seq')::bigint > greatest(m.joined_seq, uc.cleared_up_to_seq) \
                 AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h WHERE h.user_id = m.user_id \
                                  AND h.message_id = (c.last_message->>'message_id')::uuid) \
                THEN c.last_message \
                ELSE ( \
                SELECT jsonb_build_object('message_id', x.message_id, 'seq', x.seq, \
                    'sender_id', x.sender_id, 'kind', x.kind, \
                    'preview', CASE WHEN x.deleted_at IS NOT NULL THEN 'Message deleted' \
                                    ELSE left(coalesce(x.text, ''), 100) END, \
                    'sent_at', x.sent_at, 'edited_at', x.edited_at, \
                    'deleted', x.deleted_at IS NOT NULL) \
                  FROM rm_messages.messages x WHERE x.chat_id = c.chat_id \
                   AND x.seq > greatest(m.joined_seq, uc.cleared_up_to_seq) \
                   AND x.seq <= coalesce(m.left_seq, c.last_seq) \
                   AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                                    WHERE h.user_id = m.user_id AND h.message_id = x.message_id) \
                 ORDER BY x.seq DESC LIMIT 1) END, \
            'muted_until', uc.muted_until, \
            'muted', uc.muted_forever OR coalesce(uc.muted_until > now(), false), \
            'archived', uc.archived, 'left', m.left_seq IS NOT NULL, \
            'last_activity_at', {ACTIVITY}) || {UNREAD_COUNTS}, \
            {ACTIVITY}, uc.chat_id \
           FROM rm_chats.user_chats uc \
           JOIN rm_chats.chats c ON c.chat_id = uc.chat_id \
           JOIN rm_chats.members m ON m.chat_id = uc.chat_id AND m.user_id = uc.user_id \
           LEFT JOIN rm_users.users peer ON c.kind = 'direct' AND peer.user_id = \
                CASE WHEN c.requester_id = $1 THEN c.recipient_id ELSE c.requester_id END \
          WHERE uc.user_id = $1 AND {LISTED} AND {filter} \
            AND ($2::timestamptz IS NULL OR ({ACTIVITY}, uc.chat_id) < ($2, $3)) \
          ORDER BY {ACTIVITY} DESC, uc.chat_id DESC \
          LIMIT $4"
    ))
    .bind(p.user_id)
    .bind(after.as_ref().map(|c| c.at))
    .bind(after.as_ref().map(|c| c.chat))
    .bind(cursor::fetch(limit))
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let (page, next) = cursor::page(rows, limit, |(_, at, chat)| ListCursor {
        at: *at,
        chat: *chat,
    });
    let items = page.into_iter().map(|(SqlJson(item), ..)| item).collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}

/// A chat the caller is (or was) in: details, current members with roles
/// (of a channel, those with a role: its subscribers are a count),
/// message count and the pinned messages they can see. Someone who left
/// (or was removed) no longer follows the group: `members` is empty,
/// `members_count` and `message_count` are null and `last_seq` is where
/// they left.
#[utoipa::path(get, path = "/v1/chats/{chat_id}", tag = "queries", operation_id = "get_chat",
    params(("chat_id" = Uuid, Path), WaitQuery),
    responses((status = 200, description = "The chat", body = ChatDetail)),
    extensions(("x-error-codes" = json!(["chat_not_found", "invalid_id"]))))]
async fn detail(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(path): ApiPath<Uuid>,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Json<ChatDetail>, ApiError> {
    let chat_id = path;
    let a = access(&s.pool, chat_id, p.user_id).await?;
    let row: Option<(SqlJson<ChatDetail>,)> = sqlx::query_as(
        "SELECT jsonb_build_object( \
            'chat_id', c.chat_id, 'kind', c.kind, 'title', c.title, 'description', c.description, \
            'avatar_url', c.avatar_url, \
            'status', CASE WHEN c.status = 'rejected' AND c.requester_id = $2 THEN 'pending' \
                           ELSE c.status END, \
            'owner_id', c.owner_id, \
            'requester_id', c.requester_id, 'recipient_id', c.recipient_id, \
            'members_count', CASE WHEN NOT $5 THEN c.members_count END, \
            'message_count', CASE WHEN NOT $5 THEN c.message_count END, \
            'last_seq', $4::bigint, 'created_at', c.created_at, \
            'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', mm.user_id, \
                    'role', mm.role, 'joined_at', mm.joined_at) ORDER BY mm.joined_at, mm.user_id), '[]') \
                  FROM rm_chats.members mm WHERE mm.chat_id = c.chat_id AND mm.left_seq IS NULL \
                   AND NOT $5 AND (c.kind <> 'channel' OR mm.role <> 'member')), \
            'pinned', (SELECT coalesce(jsonb_agg(jsonb_build_object('message_id', x.message_id, \
                    'seq', x.seq, 'sender_id', x.sender_id, 'kind', x.kind, 'text', x.text, \
                    'sent_at', x.sent_at) ORDER BY x.seq), '[]') \
                  FROM rm_messages.messages x \
                 WHERE x.chat_id = c.chat_id AND x.pinned AND x.seq > $3 AND x.seq <= $4 \
                   AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                                    WHERE h.user_id = $2 AND h.message_id = x.message_id)), \
            'me', (SELECT jsonb_build_object('role', me.role, 'read_up_to', me.read_up_to, \
                    'left', me.left_seq IS NOT NULL) \
                  FROM rm_chats.members me WHERE me.chat_id = c.chat_id AND me.user_id = $2)) \
           FROM rm_chats.chats c WHERE c.chat_id = $1",
    )
    .bind(chat_id)
    .bind(p.user_id)
    .bind(a.lower)
    .bind(a.upper)
    .bind(a.left)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    let (SqlJson(chat),) =
        row.ok_or_else(|| ApiError::not_found("chat_not_found", format!("no chat {chat_id}")))?;
    Ok(Json(chat))
}
