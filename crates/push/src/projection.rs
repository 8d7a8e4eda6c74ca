//! The `push` projection: copies what is to be pushed from the log into
//! `push.pending`, in log order and in one transaction with its checkpoint
//! (the projector runner's lease, batches and restarts: one node at a
//! time, nothing skipped or copied twice, a kill -9 mid-batch rolls back).
//! It only copies what the events carry; who gets told, and what, is
//! decided when the notifier sends ([`chat_domain::push::notice`]).
//!
//! Unlike the read models it is never rebuilt: replaying the log into it
//! would notify every message again. It starts at the log's head the
//! first time (see the migration's checkpoint and [`start_at_head`]).

use async_trait::async_trait;
use chat_domain::{ChatEvent, UserEvent};
use chat_projector::{Fact, Projection, Result};
use chat_store::RecordedEvent;
use sqlx::{PgConnection, PgPool};

/// The projection's name and schema.
pub const NAME: &str = "push";
pub const SCHEMA: &str = "push";

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushProjection;

#[async_trait]
impl Projection for PushProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> &'static str {
        SCHEMA
    }

    fn handles(&self, event: &RecordedEvent) -> bool {
        matches!(
            event.event_type.as_str(),
            "MessageSent" | "DirectChatRequested" | "UserErased"
        )
    }

    async fn apply(&self, conn: &mut PgConnection, s: &str, event: &RecordedEvent) -> Result<()> {
        let position = i64::try_from(event.position).unwrap_or(i64::MAX);
        let row = match Fact::decode(event)? {
            Some(Fact::Chat(ChatEvent::MessageSent {
                chat_id,
                message_id,
                seq,
                sender_id,
                mentions,
                ..
            })) => (chat_id, Some(message_id), seq, sender_id, None, mentions),
            Some(Fact::Chat(ChatEvent::DirectChatRequested {
                chat_id,
                requester_id,
                recipient_id,
                ..
            })) => (
                chat_id,
                None,
                0,
                requester_id,
                Some(recipient_id),
                Vec::new(),
            ),
            Some(Fact::User(UserEvent::UserErased { user_id, .. })) => {
                // A deleted account's devices (their marks and retries go
                // with them): nothing is sent to them again.
                sqlx::query(&format!("DELETE FROM {s}.subscriptions WHERE user_id = $1"))
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                return Ok(());
            }
            _ => return Ok(()),
        };
        let (chat_id, message_id, seq, sender_id, recipient_id, mentions) = row;
        sqlx::query(&format!(
            "INSERT INTO {s}.pending (position, chat_id, message_id, seq, sender_id, \
               recipient_id, mentions, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (position) DO NOTHING"
        ))
        .bind(position)
        .bind(chat_id)
        .bind(message_id)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(sender_id)
        .bind(recipient_id)
        .bind(&mentions)
        .bind(event.recorded_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The first time the notifier runs on a database, its checkpoint moves to
/// the log's `head`: a deployment that turns push on does not notify its
/// whole history. Later starts resume where it stopped.
pub async fn start_at_head(pool: &PgPool, head: u64) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE push.checkpoint SET position = greatest(position, $1), started = true, \
           updated_at = now() WHERE NOT started",
    )
    .bind(i64::try_from(head).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok(())
}
