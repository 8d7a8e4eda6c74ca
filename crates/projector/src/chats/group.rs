//! Groups: creation, info, membership and roles.
//!
//! Roles in the read model are `owner | admin | member`; the owner is also
//! an admin (the domain keeps the owner as an admin and the ownership
//! apart). Leaving or removal freezes the member row at the chat's last seq.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use crate::error::Result;

pub(crate) async fn created(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    owner: Uuid,
    title: String,
    description: Option<String>,
    members: Vec<Uuid>,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let count = i32::try_from(members.len()).unwrap_or(i32::MAX);
    sqlx::query(&format!(
        "INSERT INTO {s}.chats (chat_id, kind, title, description, status, owner_id, \
           members_count, last_activity_at, created_at, position) \
         VALUES ($1, 'group', $2, $3, 'active', $4, $5, $6, $6, $7) \
         ON CONFLICT (chat_id) DO NOTHING"
    ))
    .bind(chat_id)
    .bind(title)
    .bind(description)
    .bind(owner)
    .bind(count)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO {s}.members (chat_id, user_id, role, joined_seq, joined_at, joined_pos, position) \
         SELECT $1, u, CASE WHEN u = $3 THEN 'owner' ELSE 'member' END, 0, $4, $5, $5 \
         FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (chat_id, user_id) DO NOTHING"
    ))
    .bind(chat_id)
    .bind(&members)
    .bind(owner)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    list_rows(cx, chat_id, &members, at).await
}

/// Put `users` on their chat lists (again), as fresh activity.
pub(super) async fn list_rows(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    users: &[Uuid],
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "INSERT INTO {s}.user_chats AS uc (user_id, chat_id, last_activity_at, position) \
         SELECT u, $1, $3, $4 FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (user_id, chat_id) DO UPDATE SET hidden = false, \
           last_activity_at = greatest(uc.last_activity_at, EXCLUDED.last_activity_at), \
           position = EXCLUDED.position \
         WHERE uc.position < EXCLUDED.position"
    ))
    .bind(chat_id)
    .bind(users)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

pub(crate) async fn info_updated(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    title: String,
    description: Option<String>,
    avatar_url: Option<String>,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.chats SET title = $2, description = $3, avatar_url = $4, position = $5 \
         WHERE chat_id = $1 AND position < $5"
    ))
    .bind(chat_id)
    .bind(title)
    .bind(description)
    .bind(avatar_url)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// New members, or former ones re-joining (their frozen row thaws with the
/// new visible range).
pub(crate) async fn members_added(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    users: Vec<Uuid>,
    joined_seq: u64,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let joined = crate::sql::big(joined_seq);
    sqlx::query(&format!(
        "INSERT INTO {s}.members AS m \
           (chat_id, user_id, role, joined_seq, joined_at, read_up_to, delivered_up_to, \
            joined_pos, position) \
         SELECT $1, u, 'member', $3, $4, $3, $3, $5, $5 FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (chat_id, user_id) DO UPDATE SET role = 'member', \
           joined_seq = EXCLUDED.joined_seq, joined_at = EXCLUDED.joined_at, \
           joined_pos = EXCLUDED.joined_pos, left_seq = NULL, left_at = NULL, left_pos = NULL, \
           read_up_to = greatest(m.read_up_to, EXCLUDED.read_up_to), \
           delivered_up_to = greatest(m.delivered_up_to, EXCLUDED.delivered_up_to), \
           position = EXCLUDED.position \
         WHERE m.position < EXCLUDED.position"
    ))
    .bind(chat_id)
    .bind(&users)
    .bind(joined)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    recount(cx, chat_id, 0).await?;
    list_rows(cx, chat_id, &users, at).await
}

/// Removed or left: freeze the member row at the chat's current last seq.
pub(crate) async fn member_gone(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    user: Uuid,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let gone = sqlx::query(&format!(
        "UPDATE {s}.members SET \
           left_seq = coalesce((SELECT last_seq FROM {s}.chats WHERE chat_id = $1), 0), \
           left_at = $3, left_pos = $4, position = $4 \
         WHERE chat_id = $1 AND user_id = $2 AND left_seq IS NULL AND position < $4"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?
    .rows_affected();
    // Their list row stops following the chat: freeze its activity as of now.
    sqlx::query(&format!(
        "UPDATE {s}.user_chats uc SET position = $3, last_activity_at = \
           greatest(uc.last_activity_at, (SELECT c.last_activity_at FROM {s}.chats c \
                                          WHERE c.chat_id = $1)) \
         WHERE uc.chat_id = $1 AND uc.user_id = $2 AND uc.position < $3"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    recount(cx, chat_id, -i64::try_from(gone).unwrap_or(0)).await
}

/// `members_count` from the member rows themselves, so it cannot drift;
/// a channel's moves by `delta` instead, since counting its rows on every
/// subscription would cost O(subscribers).
pub(super) async fn recount(cx: &mut Ctx<'_>, chat_id: Uuid, delta: i64) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.chats SET position = $2, members_count = \
           (SELECT count(*) FROM {s}.members WHERE chat_id = $1 AND left_seq IS NULL) \
         WHERE chat_id = $1 AND position < $2 AND kind <> 'channel'"
    ))
    .bind(chat_id)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE {s}.chats SET position = $2, members_count = greatest(members_count + $3, 0) \
         WHERE chat_id = $1 AND position < $2 AND kind = 'channel'"
    ))
    .bind(chat_id)
    .bind(pos)
    .bind(delta)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// Change a member's role from `from` to `to` (the owner keeps `owner`).
pub(crate) async fn set_role(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    user: Uuid,
    from: &str,
    to: &str,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.members SET role = $4, position = $5 \
         WHERE chat_id = $1 AND user_id = $2 AND role = $3 AND position < $5"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(from)
    .bind(to)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// A role set by an admin (`admin`, `moderator`, `member`); the owner's
/// row keeps `owner`.
pub(crate) async fn role_changed(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    user: Uuid,
    role: chat_domain::Role,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.members SET role = $3, position = $4 \
         WHERE chat_id = $1 AND user_id = $2 AND role <> 'owner' AND position < $4"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(crate::sql::label(&role))
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// The previous owner stays an admin (as in the domain); the heir owns.
pub(crate) async fn ownership_transferred(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    previous: Uuid,
    new_owner: Uuid,
) -> Result<()> {
    set_role(cx, chat_id, previous, "owner", "admin").await?;
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.members SET role = 'owner', position = $3 \
         WHERE chat_id = $1 AND user_id = $2 AND position < $3"
    ))
    .bind(chat_id)
    .bind(new_owner)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE {s}.chats SET owner_id = $2, position = $3 WHERE chat_id = $1 AND position < $3"
    ))
    .bind(chat_id)
    .bind(new_owner)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

pub(crate) async fn closed(cx: &mut Ctx<'_>, chat_id: Uuid) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    sqlx::query(&format!(
        "UPDATE {s}.chats SET status = 'closed', position = $2 WHERE chat_id = $1 AND position < $2"
    ))
    .bind(chat_id)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
