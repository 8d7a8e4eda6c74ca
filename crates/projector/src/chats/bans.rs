//! Bans in the chats read model (`rm_chats.bans`), for `GET …/bans`: one
//! row per banned user while the ban stands. The removal of a banned
//! member is its own `MemberRemoved`, applied like any other.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use crate::error::Result;

#[allow(clippy::too_many_arguments, reason = "the event's fields, one by one")]
pub(crate) async fn banned(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    user: Uuid,
    by: Uuid,
    until: Option<OffsetDateTime>,
    reason: Option<String>,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "INSERT INTO {s}.bans AS b (chat_id, user_id, banned_by, until, reason, banned_at, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (chat_id, user_id) DO UPDATE SET banned_by = EXCLUDED.banned_by, \
           until = EXCLUDED.until, reason = EXCLUDED.reason, banned_at = EXCLUDED.banned_at, \
           position = EXCLUDED.position \
         WHERE b.position < EXCLUDED.position"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(by)
    .bind(until)
    .bind(reason)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

pub(crate) async fn unbanned(cx: &mut Ctx<'_>, chat_id: Uuid, user: Uuid) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "DELETE FROM {s}.bans WHERE chat_id = $1 AND user_id = $2 AND position < $3"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
