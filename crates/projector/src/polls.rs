//! Polls in the messages read model: each member's current ballot (a row
//! per voter, replaced by a re-vote, removed by an empty ballot) and the
//! poll's closing. Results are counted when history is read, so a vote
//! writes one row whatever the size of the chat.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::sql::big;

pub(crate) async fn voted(
    conn: &mut PgConnection,
    s: &str,
    pos: i64,
    message_id: Uuid,
    user_id: Uuid,
    option_ids: &[u32],
    at: OffsetDateTime,
) -> Result<()> {
    if option_ids.is_empty() {
        sqlx::query(&format!(
            "DELETE FROM {s}.votes WHERE message_id = $1 AND user_id = $2 AND position < $3"
        ))
        .bind(message_id)
        .bind(user_id)
        .bind(pos)
        .execute(conn)
        .await?;
        return Ok(());
    }
    let options: Vec<i32> = option_ids
        .iter()
        .map(|o| i32::try_from(*o).unwrap_or(i32::MAX))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO {s}.votes AS v (message_id, user_id, option_ids, voted_at, position) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (message_id, user_id) DO UPDATE SET option_ids = EXCLUDED.option_ids, \
           voted_at = EXCLUDED.voted_at, position = EXCLUDED.position \
         WHERE v.position < EXCLUDED.position"
    ))
    .bind(message_id)
    .bind(user_id)
    .bind(options)
    .bind(at)
    .bind(pos)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn closed(
    conn: &mut PgConnection,
    s: &str,
    pos: i64,
    chat_id: Uuid,
    seq: u64,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE {s}.messages SET poll_closed_at = $3, position = $4 \
         WHERE chat_id = $1 AND seq = $2 AND position < $4"
    ))
    .bind(chat_id)
    .bind(big(seq))
    .bind(at)
    .bind(pos)
    .execute(conn)
    .await?;
    Ok(())
}
