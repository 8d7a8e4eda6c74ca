//! `GET /v1/chats/{id}/messages` (history, keyset by seq) and
//! `GET /v1/chats/{id}/messages/{message_id}/receipts`.

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::{ApiPath, ApiQuery};
use chat_domain::visibility;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::WaitQuery;
use super::{access, db};
use crate::answers::{HistoryItem, Items, Message, Page, Receipt};
use crate::{QueryState, cursor};
use sqlx::types::Json as SqlJson;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(history))
        .routes(routes!(receipts))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// Messages with a smaller seq (older), newest of them first in the page.
    before_seq: Option<i64>,
    /// Messages with a larger seq (newer).
    after_seq: Option<i64>,
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

/// Where the next page continues: a history key, `(seq, 0)` for the
/// message at `seq` and `(seq, entry_id)` for a system entry after it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Keyset {
    Before(Key),
    After(Key),
}

/// A cursor written before system entries carried the seq alone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum Key {
    Seq(i64),
    Item(i64, i64),
}

impl Key {
    fn pair(self) -> (i64, i64) {
        match self {
            Key::Seq(seq) => (seq, 0),
            Key::Item(seq, sub) => (seq, sub),
        }
    }
}

/// One system entry as every member who sees it sees it.
const SYSTEM_ITEM: &str = "jsonb_build_object( \
    'kind', 'system', 'entry_id', e.position, 'seq', e.after_seq, 'action', e.action, \
    'actor_id', e.actor_id, 'user_ids', to_jsonb(e.user_ids), 'title', e.title, 'role', e.role, \
    'message_id', e.message_id, 'at', e.at)";

/// One message as the caller sees it (reactions with the caller's own).
const ITEM: &str = "jsonb_build_object( \
    'message_id', x.message_id, 'seq', x.seq, 'sender_id', x.sender_id, 'kind', x.kind, \
    'text', x.text, 'media', x.media, 'reply_to', x.reply_to, 'forward_of', x.forward_of, \
    'mentions', CASE WHEN x.deleted_at IS NULL THEN to_jsonb(x.mentions) ELSE '[]'::jsonb END, \
    'poll', CASE WHEN x.deleted_at IS NULL THEN x.poll || jsonb_build_object( \
        'closed', x.poll_closed_at IS NOT NULL, \
        'total_voters', (SELECT count(*) FROM rm_messages.votes v WHERE v.message_id = x.message_id), \
        'my_vote', coalesce((SELECT to_jsonb(v.option_ids) FROM rm_messages.votes v \
                              WHERE v.message_id = x.message_id AND v.user_id = $2), '[]'::jsonb), \
        'results', (SELECT jsonb_agg(jsonb_build_object('option_id', o.id, \
            'votes', (SELECT count(*) FROM rm_messages.votes v \
                       WHERE v.message_id = x.message_id AND o.id = ANY(v.option_ids)), \
            'voters', CASE WHEN (x.poll->>'anonymous')::boolean THEN NULL ELSE \
                (SELECT coalesce(jsonb_agg(v.user_id ORDER BY v.voted_at, v.user_id), '[]'::jsonb) \
                   FROM rm_messages.votes v \
                  WHERE v.message_id = x.message_id AND o.id = ANY(v.option_ids)) END) ORDER BY o.id) \
            FROM jsonb_to_recordset(x.poll->'options') AS o(id int, text text))) END, \
    'location', CASE WHEN x.deleted_at IS NULL THEN x.location END, \
    'reactions', coalesce((SELECT jsonb_object_agg(r.emoji, jsonb_build_object('count', r.n, 'mine', r.mine)) \
        FROM (SELECT emoji, count(*) AS n, bool_or(user_id = $2) AS mine FROM rm_messages.reactions \
               WHERE message_id = x.message_id GROUP BY emoji) r), '{}'::jsonb), \
    'edited_at', x.edited_at, 'deleted', x.deleted_at IS NOT NULL, 'pinned', x.pinned, \
    'sent_at', x.sent_at)";

/// A chat's messages in seq order, inside the caller's visible range;
/// their delete-for-me messages are left out, deleted ones are tombstones.
/// System entries (`kind: system`) sit between them where they happened,
/// from the caller's join through their leave.
#[utoipa::path(get, path = "/v1/chats/{chat_id}/messages", tag = "queries", operation_id = "list_messages",
    params(("chat_id" = Uuid, Path), HistoryQuery),
    responses((status = 200, description = "Messages and system entries in order, a page", body = Page<HistoryItem>)),
    extensions(("x-error-codes" = json!(["chat_not_found", "invalid_id", "invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn history(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(path): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Page<HistoryItem>>, ApiError> {
    let chat_id = path;
    let limit = cursor::limit(q.limit)?;
    let page = match (q.cursor.as_deref(), q.before_seq, q.after_seq) {
        (Some(c), None, None) => cursor::decode::<Keyset>(c)?,
        (None, Some(b), None) => Keyset::Before(Key::Seq(b)),
        (None, None, Some(a)) => Keyset::After(Key::Seq(a)),
        (None, None, None) => Keyset::Before(Key::Seq(i64::MAX)),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give one of cursor, before_seq, after_seq",
            ));
        }
    };
    let a = access(&s.pool, chat_id, p.user_id).await?;
    let (bound, order, cmp) = match page {
        Keyset::Before(k) => (k.pair(), "DESC", "<"),
        Keyset::After(k) => (k.pair(), "ASC", ">"),
    };
    let rows: Vec<(SqlJson<HistoryItem>, i64, i64)> = sqlx::query_as(&format!(
        "SELECT item, k_seq, k_sub FROM ( \
           (SELECT {ITEM} AS item, x.seq AS k_seq, 0::bigint AS k_sub FROM rm_messages.messages x \
             WHERE x.chat_id = $1 AND x.seq > $3 AND x.seq <= $4 AND (x.seq, 0::bigint) {cmp} ($5, $6) \
               AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                                WHERE h.user_id = $2 AND h.message_id = x.message_id) \
             ORDER BY x.seq {order} LIMIT $7) \
           UNION ALL \
           (SELECT {SYSTEM_ITEM}, e.after_seq, e.position FROM rm_messages.system_entries e \
             WHERE e.chat_id = $1 AND e.position BETWEEN $8 AND $9 \
               AND (e.after_seq, e.position) {cmp} ($5, $6) \
               AND (e.message_seq IS NULL OR (e.message_seq > $3 AND e.message_seq <= $4 \
                    AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                                     WHERE h.user_id = $2 AND h.message_id = e.message_id))) \
             ORDER BY e.after_seq {order}, e.position {order} LIMIT $7)) page \
         ORDER BY k_seq {order}, k_sub {order} LIMIT $7"
    ))
    .bind(chat_id)
    .bind(p.user_id)
    .bind(a.lower)
    .bind(a.upper)
    .bind(bound.0)
    .bind(bound.1)
    .bind(cursor::fetch(limit))
    .bind(super::sql_seq(a.span.first()))
    .bind(super::sql_seq(a.span.last()))
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let (mut page_rows, next) = cursor::page(rows, limit, |(_, seq, sub)| {
        let key = Key::Item(*seq, *sub);
        match page {
            Keyset::Before(_) => Keyset::Before(key),
            Keyset::After(_) => Keyset::After(key),
        }
    });
    if matches!(page, Keyset::Before(_)) {
        page_rows.reverse();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let items = page_rows
        .into_iter()
        .map(|(SqlJson(mut item), _, _)| {
            if let HistoryItem::Message(message) = &mut item {
                sign_media(&s, message, now);
            }
            item
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}

/// Add a short-lived signed download URL to a message's media, so clients
/// fetch it without their bearer token.
fn sign_media(s: &QueryState, message: &mut Message, now: i64) {
    if let (Some(signer), Some(media)) = (&s.media_urls, message.media.as_mut())
        && !media.removed
    {
        media.url = Some(signer.url(media.media_id, now));
    }
}

/// Who a message reached and who read it, and when their markers passed
/// it. Receipts are mutual ([`visibility::read_marker`]), for delivery as
/// for reading: someone else's show only while both share theirs; the
/// caller's own always do. In a channel only the caller's own show
/// ([`visibility::about_a_subscriber`]).
#[utoipa::path(get, path = "/v1/chats/{chat_id}/messages/{message_id}/receipts", tag = "queries",
    operation_id = "list_receipts",
    params(("chat_id" = Uuid, Path), ("message_id" = Uuid, Path), WaitQuery),
    responses((status = 200, description = "Who received and read it, and when", body = Items<Receipt>)),
    extensions(("x-error-codes" = json!(["chat_not_found", "message_not_found", "invalid_id"]))))]
async fn receipts(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Json<Items<Receipt>>, ApiError> {
    let (chat_id, message_id) = path;
    let a = access(&s.pool, chat_id, p.user_id).await?;
    let msg: Option<(i64, Uuid)> = sqlx::query_as(
        "SELECT x.seq, x.sender_id FROM rm_messages.messages x \
          WHERE x.chat_id = $1 AND x.message_id = $2 AND x.seq > $3 AND x.seq <= $4",
    )
    .bind(chat_id)
    .bind(message_id)
    .bind(a.lower)
    .bind(a.upper)
    .fetch_optional(&s.pool)
    .await
    .map_err(db)?;
    let (seq, sender) = msg.ok_or_else(|| {
        ApiError::not_found("message_not_found", format!("no message {message_id}"))
    })?;
    // A member's delivered point is the later of their two markers; the
    // time it passed the message is the earlier of the two that did.
    type Row = (Uuid, Option<String>, Option<String>, bool, bool, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.user_id, \
                to_jsonb(CASE WHEN m.delivered_up_to >= $2 AND m.read_up_to >= $2 \
                              THEN least(m.delivered_at, m.read_at) \
                              WHEN m.delivered_up_to >= $2 THEN m.delivered_at \
                              ELSE m.read_at END) #>> '{}', \
                to_jsonb(CASE WHEN m.read_up_to >= $2 THEN m.read_at END) #>> '{}', \
                u.read_receipts, \
                (SELECT read_receipts FROM rm_users.users WHERE user_id = $4), c.kind = 'channel' \
           FROM rm_chats.members m JOIN rm_users.users u ON u.user_id = m.user_id \
           JOIN rm_chats.chats c ON c.chat_id = m.chat_id \
          WHERE m.chat_id = $1 AND greatest(m.read_up_to, m.delivered_up_to) >= $2 \
            AND m.user_id <> $3 AND m.joined_seq < $2 \
            AND (c.kind <> 'channel' OR m.user_id = $4) \
          ORDER BY 2, m.user_id",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(sender)
    .bind(p.user_id)
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    let items = rows
        .into_iter()
        .filter(|(reader, _, _, reader_shares, viewer_shares, channel)| {
            if *channel {
                visibility::about_a_subscriber(p.user_id, *reader)
            } else {
                visibility::read_marker(p.user_id, *reader, *viewer_shares, *reader_shares)
            }
        })
        .map(|(user_id, delivered_at, read_at, _, _, _)| Receipt {
            user_id,
            delivered_at,
            read_at,
        })
        .collect();
    Ok(Json(Items { items }))
}
