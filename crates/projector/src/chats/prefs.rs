//! Per-user chat preferences from the user stream: mute, archive, clear.
//!
//! A user can only set preferences for a chat they are in, so the list row
//! exists; it is still created if missing (defensively), dated with the
//! chat's last activity.

use chat_domain::UserEvent;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use crate::error::Result;
use crate::sql::big;

pub(crate) async fn apply(cx: &mut Ctx<'_>, event: UserEvent) -> Result<()> {
    match event {
        UserEvent::ChatMuted {
            user_id,
            chat_id,
            until,
            at,
        } => {
            ensure_row(cx, user_id, chat_id, at).await?;
            let sql = update_sql(cx.s, "muted_until = $4, muted_forever = $5");
            sqlx::query(&sql)
                .bind(user_id)
                .bind(chat_id)
                .bind(cx.pos)
                .bind(until)
                .bind(until.is_none())
                .execute(&mut *cx.conn)
                .await?;
        }
        UserEvent::ChatUnmuted {
            user_id,
            chat_id,
            at,
        } => {
            ensure_row(cx, user_id, chat_id, at).await?;
            set(
                cx,
                user_id,
                chat_id,
                "muted_until = NULL, muted_forever = false",
            )
            .await?;
        }
        UserEvent::ChatArchived {
            user_id,
            chat_id,
            at,
        } => {
            ensure_row(cx, user_id, chat_id, at).await?;
            set(cx, user_id, chat_id, "archived = true").await?;
        }
        UserEvent::ChatUnarchived {
            user_id,
            chat_id,
            at,
        } => {
            ensure_row(cx, user_id, chat_id, at).await?;
            set(cx, user_id, chat_id, "archived = false").await?;
        }
        UserEvent::ChatCleared {
            user_id,
            chat_id,
            up_to_seq,
            at,
        } => {
            ensure_row(cx, user_id, chat_id, at).await?;
            // Hidden unless a newer message already arrived (one sent between
            // the clear's decision and its append).
            let s = cx.s;
            let sql = update_sql(
                s,
                &format!(
                    "cleared_up_to_seq = greatest(cleared_up_to_seq, $4), cleared_pos = $3, \
                     hidden = coalesce((SELECT last_seq FROM {s}.chats WHERE chat_id = $2), 0) \
                              <= greatest(cleared_up_to_seq, $4)"
                ),
            );
            sqlx::query(&sql)
                .bind(user_id)
                .bind(chat_id)
                .bind(cx.pos)
                .bind(big(up_to_seq))
                .execute(&mut *cx.conn)
                .await?;
        }
        UserEvent::UserRegistered { .. }
        | UserEvent::ProfileUpdated { .. }
        | UserEvent::SettingsChanged { .. }
        | UserEvent::StatusChanged { .. }
        | UserEvent::UserBlocked { .. }
        | UserEvent::UserUnblocked { .. }
        | UserEvent::MessageHiddenForMe { .. }
        | UserEvent::MediaUploaded { .. }
        | UserEvent::MediaDeleted { .. } => {}
        UserEvent::UserErased { user_id, .. } => super::erased::user_erased(cx, user_id).await?,
    }
    Ok(())
}

/// `UPDATE user_chats SET {set}` for ($1 user, $2 chat) guarded by $3 position.
fn update_sql(s: &str, set: &str) -> String {
    format!(
        "UPDATE {s}.user_chats SET {set}, position = $3 \
         WHERE user_id = $1 AND chat_id = $2 AND position < $3"
    )
}

async fn set(cx: &mut Ctx<'_>, user: Uuid, chat: Uuid, set: &str) -> Result<()> {
    sqlx::query(&update_sql(cx.s, set))
        .bind(user)
        .bind(chat)
        .bind(cx.pos)
        .execute(&mut *cx.conn)
        .await?;
    Ok(())
}

/// Create the list row if it is missing, at position 0 so the guarded update
/// that follows still applies.
async fn ensure_row(cx: &mut Ctx<'_>, user: Uuid, chat: Uuid, at: OffsetDateTime) -> Result<()> {
    let s = cx.s;
    sqlx::query(&format!(
        "INSERT INTO {s}.user_chats (user_id, chat_id, last_activity_at, position) \
         VALUES ($1, $2, coalesce((SELECT last_activity_at FROM {s}.chats WHERE chat_id = $2), $3), 0) \
         ON CONFLICT (user_id, chat_id) DO NOTHING"
    ))
    .bind(user)
    .bind(chat)
    .bind(at)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
