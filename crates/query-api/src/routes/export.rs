//! `GET /v1/me/export`: the caller's own data as JSON lines (data
//! portability): one object per line, each with a `type`. What they
//! provided and what is about them alone: profile and settings, account
//! (address, sessions, MFA on or off; never a secret), blocks, chats and
//! their place in them, the messages they sent (with edit history; a
//! message deleted for everyone is its tombstone), their reactions and
//! votes, their uploads' metadata. Other people's messages are theirs, not
//! the caller's, and are left out.
//!
//! The small sections are read before the answer starts (a missing profile
//! is a 404, not a broken stream); messages follow in pages of
//! [`PAGE`], so an export of any size streams in bounded memory.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiQuery};
use futures::{StreamExt, stream};
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{WaitQuery, db};
use crate::QueryState;

/// Messages per page of the stream.
const PAGE: i64 = 500;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Everything the caller provided, as JSON lines (`application/x-ndjson`):
/// `export`, `profile`, `account`, `block`, `chat`, `message`, `reaction`,
/// `vote`, `media` objects.
#[utoipa::path(get, path = "/v1/me/export", tag = "queries", operation_id = "export_me",
    params(WaitQuery),
    responses((status = 200, description = "One JSON object per line, each with a `type`",
        content_type = "application/x-ndjson", body = String)),
    extensions(("x-error-codes" = json!(["user_not_found"]))))]
async fn export(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiQuery(_): ApiQuery<WaitQuery>,
) -> Result<Response, ApiError> {
    let me = p.user_id;
    let mut head = vec![serde_json::json!({
        "type": "export", "format": 1, "user_id": me,
        "exported_at": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })];
    let profile: Option<Value> = sqlx::query_scalar(PROFILE)
        .bind(me)
        .fetch_optional(&s.pool)
        .await
        .map_err(db)?;
    head.push(
        profile
            .ok_or_else(|| ApiError::not_found("user_not_found", "no profile yet for this user"))?,
    );
    head.extend(chat_auth::export::account(&s.pool, me).await.map_err(db)?);
    for sql in [BLOCKS, CHATS, REACTIONS, VOTES, MEDIA] {
        let rows: Vec<Value> = sqlx::query_scalar(sql)
            .bind(me)
            .fetch_all(&s.pool)
            .await
            .map_err(db)?;
        head.extend(rows);
    }
    let head = stream::iter(head).map(|v| Ok::<_, std::io::Error>(line(&v)));
    let body = Body::from_stream(head.chain(messages(s.pool.clone(), me)));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"chat-export-{me}.jsonl\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn line(v: &Value) -> Bytes {
    let mut out = v.to_string().into_bytes();
    out.push(b'\n');
    Bytes::from(out)
}

/// The messages `me` sent, a page at a time, keyed by (chat, seq). A page
/// that fails ends the stream early (the client sees a cut body, and the
/// failure is logged): the answer's status was sent already.
fn messages(pool: PgPool, me: Uuid) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let start = Some((Uuid::nil(), -1i64));
    stream::unfold(start, move |after| {
        let pool = pool.clone();
        async move {
            let (chat, seq) = after?;
            let page: Result<Vec<(Value, Uuid, i64)>, _> = sqlx::query_as(MESSAGES)
                .bind(me)
                .bind(chat)
                .bind(seq)
                .bind(PAGE)
                .fetch_all(&pool)
                .await;
            match page {
                Ok(rows) => {
                    let next = (rows.len() as i64 == PAGE)
                        .then(|| rows.last().map(|(_, c, s)| (*c, *s)))
                        .flatten();
                    let bytes: Vec<u8> = rows.iter().flat_map(|(v, _, _)| line(v)).collect();
                    Some((Ok(Bytes::from(bytes)), next))
                }
                Err(e) => {
                    tracing::warn!(error = %e, user = %me, "an export's messages could not be read");
                    Some((Err(std::io::Error::other(e)), None))
                }
            }
        }
    })
}

const PROFILE: &str = "SELECT jsonb_build_object('type', 'profile', 'user_id', u.user_id, \
    'username', u.username, 'display_name', u.display_name, 'avatar_url', u.avatar_url, \
    'bio', u.bio, 'registered_at', u.registered_at, \
    'settings', jsonb_build_object('read_receipts', u.read_receipts, \
        'last_seen_visible_to', u.last_seen_visible_to, \
        'accept_requests_from', u.accept_requests_from, 'push_preview', u.push_preview)) \
    FROM rm_users.users u WHERE u.user_id = $1";

const BLOCKS: &str = "SELECT jsonb_build_object('type', 'block', 'user_id', b.blocked_user_id) \
    FROM rm_users.blocks b WHERE b.user_id = $1 ORDER BY b.position";

const CHATS: &str = "SELECT jsonb_build_object('type', 'chat', 'chat_id', m.chat_id, \
    'kind', c.kind, 'title', c.title, 'role', m.role, 'joined_at', m.joined_at, \
    'left_at', m.left_at, 'read_up_to', m.read_up_to, \
    'muted_until', uc.muted_until, 'muted_forever', uc.muted_forever, 'archived', uc.archived) \
    FROM rm_chats.members m JOIN rm_chats.chats c USING (chat_id) \
    LEFT JOIN rm_chats.user_chats uc ON uc.user_id = m.user_id AND uc.chat_id = m.chat_id \
    WHERE m.user_id = $1 ORDER BY m.joined_at, m.chat_id";

const REACTIONS: &str = "SELECT jsonb_build_object('type', 'reaction', 'chat_id', r.chat_id, \
    'message_id', r.message_id, 'emoji', r.emoji, 'reacted_at', r.reacted_at) \
    FROM rm_messages.reactions r WHERE r.user_id = $1 ORDER BY r.reacted_at, r.message_id";

const VOTES: &str = "SELECT jsonb_build_object('type', 'vote', 'message_id', v.message_id, \
    'option_ids', v.option_ids, 'voted_at', v.voted_at) \
    FROM rm_messages.votes v WHERE v.user_id = $1 ORDER BY v.voted_at, v.message_id";

const MEDIA: &str = "SELECT jsonb_build_object('type', 'media', 'media_id', x.media_id, \
    'kind', x.kind, 'mime', x.mime, 'size', x.size, 'sha256', x.sha256, 'width', x.width, \
    'height', x.height, 'duration_ms', x.duration_ms, 'file_name', x.file_name, \
    'uploaded_at', x.uploaded_at, 'deleted_at', x.deleted_at) \
    FROM rm_media.media x WHERE x.owner_id = $1 ORDER BY x.uploaded_at, x.media_id";

/// A page of the messages `$1` sent after (`$2`, `$3`), with their edit
/// history (oldest first).
const MESSAGES: &str = "SELECT jsonb_build_object('type', 'message', 'chat_id', m.chat_id, \
    'message_id', m.message_id, 'seq', m.seq, 'kind', m.kind, 'text', m.text, 'media', m.media, \
    'poll', m.poll, 'location', m.location, 'reply_to', m.reply_to, 'forward_of', m.forward_of, \
    'sent_at', m.sent_at, 'edited_at', m.edited_at, 'deleted_at', m.deleted_at, \
    'versions', coalesce((SELECT jsonb_agg(jsonb_build_object('text', v.text, \
        'written_at', v.written_at) ORDER BY v.replaced_at) FROM rm_messages.versions v \
        WHERE v.chat_id = m.chat_id AND v.seq = m.seq), '[]'::jsonb)), m.chat_id, m.seq \
    FROM rm_messages.messages m \
    WHERE m.sender_id = $1 AND (m.chat_id, m.seq) > ($2, $3) \
    ORDER BY m.chat_id, m.seq LIMIT $4";
