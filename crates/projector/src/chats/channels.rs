//! Channels in the chats read model: the chat row (kind `channel`, its
//! `public` flag), the owner's member row, and one member row per
//! subscriber. A post writes nothing per subscriber: the chat row's
//! `last_seq` and each subscriber's read marker give the unread count.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use super::group::{list_rows, recount};
use crate::error::Result;

pub(crate) async fn created(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    owner: Uuid,
    title: String,
    description: Option<String>,
    public: bool,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "INSERT INTO {s}.chats (chat_id, kind, title, description, status, owner_id, \
           members_count, public, last_activity_at, created_at, position) \
         VALUES ($1, 'channel', $2, $3, 'active', $4, 1, $5, $6, $6, $7) \
         ON CONFLICT (chat_id) DO NOTHING"
    ))
    .bind(chat_id)
    .bind(title)
    .bind(description)
    .bind(owner)
    .bind(public)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO {s}.members (chat_id, user_id, role, joined_seq, joined_at, joined_pos, position) \
         VALUES ($1, $2, 'owner', 0, $3, $4, $4) ON CONFLICT (chat_id, user_id) DO NOTHING"
    ))
    .bind(chat_id)
    .bind(owner)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    list_rows(cx, chat_id, &[owner], at).await
}

/// A subscriber sees the whole history (`joined_seq` 0) and has read up to
/// where the channel was; a former one's row thaws.
pub(crate) async fn subscribed(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    user: Uuid,
    last_seq: u64,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let read = crate::sql::big(last_seq);
    let joined = sqlx::query(&format!(
        "INSERT INTO {s}.members AS m \
           (chat_id, user_id, role, joined_seq, joined_at, read_up_to, delivered_up_to, \
            joined_pos, position) \
         VALUES ($1, $2, 'member', 0, $3, $4, $4, $5, $5) \
         ON CONFLICT (chat_id, user_id) DO UPDATE SET role = 'member', joined_seq = 0, \
           joined_at = EXCLUDED.joined_at, joined_pos = EXCLUDED.joined_pos, \
           left_seq = NULL, left_at = NULL, left_pos = NULL, \
           read_up_to = greatest(m.read_up_to, EXCLUDED.read_up_to), \
           delivered_up_to = greatest(m.delivered_up_to, EXCLUDED.delivered_up_to), \
           position = EXCLUDED.position \
         WHERE m.position < EXCLUDED.position AND m.left_seq IS NOT NULL"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(at)
    .bind(read)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?
    .rows_affected();
    recount(cx, chat_id, i64::try_from(joined).unwrap_or(0)).await?;
    list_rows(cx, chat_id, &[user], at).await
}
