//! Direct chats: requests, answers and blocks.
//!
//! The status follows `chat_domain::Chat::status`: blocked while anyone
//! blocks the chat, otherwise the request's state (`accepted` shows as
//! `active`). The request state and the blockers are kept in their own
//! columns so an unblock restores the status exactly.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use crate::error::Result;

/// The status expression for given blockers and request-state expressions.
fn status_sql(blocked_by: &str, request_status: &str) -> String {
    format!(
        "CASE WHEN cardinality({blocked_by}) > 0 THEN 'blocked' \
              WHEN {request_status} = 'accepted' THEN 'active' \
              ELSE {request_status} END"
    )
}

/// A new request, or a rejected one started again (possibly from the other
/// side): both users get a member row and a chat-list row.
pub(crate) async fn requested(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    requester: Uuid,
    recipient: Uuid,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let status = status_sql("c.blocked_by", "'pending'");
    sqlx::query(&format!(
        "INSERT INTO {s}.chats AS c (chat_id, kind, status, request_status, requester_id, \
           recipient_id, members_count, last_activity_at, created_at, position) \
         VALUES ($1, 'direct', 'pending', 'pending', $2, $3, 2, $4, $4, $5) \
         ON CONFLICT (chat_id) DO UPDATE SET request_status = 'pending', status = {status}, \
           requester_id = EXCLUDED.requester_id, recipient_id = EXCLUDED.recipient_id, \
           last_activity_at = greatest(c.last_activity_at, EXCLUDED.last_activity_at), \
           position = EXCLUDED.position \
         WHERE c.position < EXCLUDED.position"
    ))
    .bind(chat_id)
    .bind(requester)
    .bind(recipient)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    let users = vec![requester, recipient];
    // Both stay members across a rejection, as in the domain.
    sqlx::query(&format!(
        "INSERT INTO {s}.members (chat_id, user_id, role, joined_seq, joined_at, joined_pos, position) \
         SELECT $1, u, 'member', 0, $3, $4, $4 FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (chat_id, user_id) DO NOTHING"
    ))
    .bind(chat_id)
    .bind(&users)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    // A (new) request is news for both sides: it shows even if cleared.
    sqlx::query(&format!(
        "INSERT INTO {s}.user_chats AS uc (user_id, chat_id, last_activity_at, position) \
         SELECT u, $1, $3, $4 FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (user_id, chat_id) DO UPDATE SET hidden = false, \
           last_activity_at = greatest(uc.last_activity_at, EXCLUDED.last_activity_at), \
           position = EXCLUDED.position \
         WHERE uc.position < EXCLUDED.position"
    ))
    .bind(chat_id)
    .bind(&users)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// The recipient accepted or rejected: `answer` is the new request state.
pub(crate) async fn answered(cx: &mut Ctx<'_>, chat_id: Uuid, answer: &str) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let status = status_sql("blocked_by", "$2::text");
    sqlx::query(&format!(
        "UPDATE {s}.chats SET request_status = $2, status = {status}, position = $3 \
         WHERE chat_id = $1 AND position < $3"
    ))
    .bind(chat_id)
    .bind(answer)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// `by` blocked (`block`) or unblocked the chat.
pub(crate) async fn blocked(cx: &mut Ctx<'_>, chat_id: Uuid, by: Uuid, block: bool) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let blockers = if block {
        "array_append(array_remove(blocked_by, $2), $2)"
    } else {
        "array_remove(blocked_by, $2)"
    };
    let status = status_sql(blockers, "request_status");
    sqlx::query(&format!(
        "UPDATE {s}.chats SET blocked_by = {blockers}, status = {status}, position = $3 \
         WHERE chat_id = $1 AND position < $3"
    ))
    .bind(chat_id)
    .bind(by)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
