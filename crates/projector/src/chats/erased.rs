//! A deleted account in the chat lists: what a rebuild finds once the
//! user's keys are gone (blank texts), shown as deleted.

use uuid::Uuid;

use super::Ctx;
use super::preview::DELETED_PREVIEW;
use crate::error::Result;

/// Their last messages read as deleted in every chat list; the reasons
/// given for banning them are gone with their key.
pub(crate) async fn user_erased(cx: &mut Ctx<'_>, user: Uuid) -> Result<()> {
    let s = cx.s;
    sqlx::query(&format!(
        "UPDATE {s}.chats SET last_message = last_message \
           || jsonb_build_object('preview', $2::text, 'deleted', true) \
         WHERE last_message ->> 'sender_id' = $1::text"
    ))
    .bind(user)
    .bind(DELETED_PREVIEW)
    .execute(&mut *cx.conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE {s}.bans SET reason = NULL WHERE user_id = $1"
    ))
    .bind(user)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
