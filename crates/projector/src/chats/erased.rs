//! A deleted account in the chat lists: exactly what a rebuild finds once
//! the user's keys are gone (blank texts).

use chat_domain::MessageKind;
use uuid::Uuid;

use super::Ctx;
use super::preview::preview;
use crate::error::Result;

/// Where their message is the last one, its preview is what a message of
/// its kind without text shows; the reasons given for banning them are
/// gone with their key.
pub(crate) async fn user_erased(cx: &mut Ctx<'_>, user: Uuid) -> Result<()> {
    let s = cx.s;
    let last: Vec<(Uuid, sqlx::types::Json<MessageKind>)> = sqlx::query_as(&format!(
        "SELECT chat_id, last_message -> 'kind' FROM {s}.chats \
          WHERE last_message ->> 'sender_id' = $1::text"
    ))
    .bind(user)
    .fetch_all(&mut *cx.conn)
    .await?;
    for (chat, kind) in last {
        sqlx::query(&format!(
            "UPDATE {s}.chats SET last_message = last_message \
               || jsonb_build_object('preview', $2::text) WHERE chat_id = $1"
        ))
        .bind(chat)
        .bind(preview(kind.0, None))
        .execute(&mut *cx.conn)
        .await?;
    }
    sqlx::query(&format!(
        "UPDATE {s}.bans SET reason = NULL WHERE user_id = $1"
    ))
    .bind(user)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
