//! What the notifier keeps per chat and per device: the chat's lock (one
//! node sends a chat's notifications at a time, in order), how far each
//! device was told of each chat (`push.marks`, the "exactly once" of
//! docs/push.md), its last success, and its removal when its push service
//! says it is gone. Shared by the first sends of a burst and by the
//! retries.

use uuid::Uuid;

/// The device was told up to `position`: mark it, and drop an older retry
/// this one covers.
pub(crate) async fn delivered(
    pool: &sqlx::PgPool,
    subscription: Uuid,
    chat: Uuid,
    position: i64,
) -> sqlx::Result<()> {
    // One round trip: a burst writes one of these per device.
    sqlx::query(&format!(
        "WITH marked AS ({MARK}), \
         seen AS ( \
             UPDATE push.subscriptions SET last_success_at = now() WHERE subscription_id = $1) \
         DELETE FROM push.retries WHERE subscription_id = $1 AND chat_id = $2 AND position <= $3"
    ))
    .bind(subscription)
    .bind(chat)
    .bind(position)
    .execute(pool)
    .await?;
    Ok(())
}

/// Device `$1` was told of chat `$2` up to position `$3`.
const MARK: &str = "INSERT INTO push.marks (subscription_id, chat_id, position) \
     VALUES ($1, $2, $3) ON CONFLICT (subscription_id, chat_id) \
     DO UPDATE SET position = greatest(push.marks.position, EXCLUDED.position)";

pub(crate) async fn mark(
    pool: &sqlx::PgPool,
    subscription: Uuid,
    chat: Uuid,
    position: i64,
) -> sqlx::Result<()> {
    sqlx::query(MARK)
        .bind(subscription)
        .bind(chat)
        .bind(position)
        .execute(pool)
        .await?;
    Ok(())
}

/// The push service says the subscription is gone: forget the device.
pub(crate) async fn gone(pool: &sqlx::PgPool, subscription: Uuid) -> sqlx::Result<()> {
    tracing::info!(%subscription, "push subscription gone; removed");
    sqlx::query("DELETE FROM push.subscriptions WHERE subscription_id = $1")
        .bind(subscription)
        .execute(pool)
        .await?;
    Ok(())
}

/// Take chat `chat`'s lock for this transaction, unless another node (or
/// this one's retries) has it: one chat's notifications go out in order.
pub(crate) async fn chat_lock(tx: &mut sqlx::PgConnection, chat: Uuid) -> sqlx::Result<bool> {
    let (mine,): (bool,) =
        sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("push:{chat}"))
            .fetch_one(tx)
            .await?;
    Ok(mine)
}
