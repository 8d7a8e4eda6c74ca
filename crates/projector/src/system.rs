//! System entries in the messages projection (`rm_messages.system_entries`):
//! the rows `GET …/messages` merges between messages. What an event shows
//! is the domain's ([`chat_domain::chat::system::entry`]); this writes it,
//! once, at the event's own position.

use chat_domain::ChatEvent;
use chat_domain::chat::system::{self, SystemAction};
use sqlx::PgConnection;

use crate::error::Result;
use crate::sql::label;

/// Record the entry `event` shows, if any, after the chat's newest message
/// so far (the projection applies a chat's events in order, so that is the
/// newest message when the event happened).
pub(crate) async fn record(
    conn: &mut PgConnection,
    s: &str,
    pos: i64,
    event: &ChatEvent,
) -> Result<()> {
    let Some(entry) = system::entry(event) else {
        return Ok(());
    };
    // An info change that changes the title is a rename. The event carries
    // only the new values; the previous title is on the chat's newest entry
    // that carries one (creation or an earlier change). Without one (a chat
    // older than this table, before a rebuild) it stays an info change.
    let rename =
        (entry.action == SystemAction::InfoUpdated).then_some(SystemAction::Renamed.as_str());
    sqlx::query(&format!(
        "INSERT INTO {s}.system_entries \
           (chat_id, position, after_seq, action, actor_id, user_ids, title, role, message_id, \
            message_seq, at) \
         SELECT $1, $2, coalesce((SELECT max(seq) FROM {s}.messages WHERE chat_id = $1), 0), \
           CASE WHEN $10::text IS NOT NULL AND (SELECT e.title FROM {s}.system_entries e \
                 WHERE e.chat_id = $1 AND e.title IS NOT NULL \
                 ORDER BY e.position DESC LIMIT 1) <> $6 THEN $10 ELSE $3 END, \
           $4, $5, $6, $7, $8, $11, $9 \
         ON CONFLICT (chat_id, position) DO NOTHING"
    ))
    .bind(event.chat_id())
    .bind(pos)
    .bind(entry.action.as_str())
    .bind(entry.actor_id)
    .bind(&entry.user_ids)
    .bind(entry.title)
    .bind(entry.role.map(|r| label(&r)))
    .bind(entry.message_id)
    .bind(event.at())
    .bind(rename)
    .bind(entry.message_seq.map(crate::sql::big))
    .execute(conn)
    .await?;
    Ok(())
}
