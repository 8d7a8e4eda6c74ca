//! Notifications a push service did not take yet (429, 5xx, timeouts),
//! sent again with exponential back-off (honouring `Retry-After`), under
//! `FOR UPDATE SKIP LOCKED` so several nodes share them without sending
//! one twice. A newer notification for the same device and chat replaces
//! the waiting one (see `notifier::delivered`), so order holds.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use crate::PushApp;
use crate::facts::target;
use crate::marks::{chat_lock, delivered, gone};
use crate::send::{Device, Outcome};

/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// Retries taken per round.
const PER_ROUND: i64 = 200;

/// The wait before attempt `attempts + 1`: 1 s doubling, at most 10 min,
/// and never sooner than the service asked.
pub fn backoff(attempts: i32, asked: Option<Duration>) -> Duration {
    let exp = Duration::from_secs(1u64 << attempts.clamp(0, 10)).min(Duration::from_secs(600));
    asked.map_or(exp, |a| a.max(exp))
}

type Row = (
    Uuid,
    Uuid,
    i64,
    serde_json::Value,
    bool,
    i32,
    Uuid,
    String,
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// Send the retries that are due; answers how many were handled.
pub async fn round(app: &PushApp) -> sqlx::Result<usize> {
    // Idle, a round is this one indexed probe, not a transaction.
    let due: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM push.retries WHERE not_before <= now())")
            .fetch_one(&app.pool)
            .await?;
    if !due {
        return Ok(0);
    }
    let mut tx = app.pool.begin().await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.subscription_id, r.chat_id, r.position, r.payload, r.urgent, r.attempts, \
                s.user_id, s.kind, s.endpoint, s.p256dh, s.auth \
           FROM push.retries r JOIN push.subscriptions s USING (subscription_id) \
          WHERE r.not_before <= now() ORDER BY r.not_before LIMIT $1 \
            FOR UPDATE OF r SKIP LOCKED",
    )
    .bind(PER_ROUND)
    .fetch_all(&mut *tx)
    .await?;
    // Only the chats no burst is being sent for (the retry would race the
    // newer notification that replaces it).
    let mut free = std::collections::HashMap::new();
    for row in &rows {
        if let std::collections::hash_map::Entry::Vacant(e) = free.entry(row.1) {
            e.insert(chat_lock(&mut tx, row.1).await?);
        }
    }
    let rows: Vec<Row> = rows.into_iter().filter(|r| free[&r.1]).collect();
    let n = rows.len();
    let outcomes: Vec<(Uuid, Uuid, i64, i32, Outcome)> = futures::stream::iter(rows)
        .map(|row| async move {
            let (
                sub,
                chat,
                position,
                payload,
                urgent,
                attempts,
                user,
                kind,
                endpoint,
                p256dh,
                auth,
            ) = row;
            let target = target(&kind, &endpoint, p256dh, auth, &app.config.endpoint_allow);
            let outcome = match target {
                Some(target) => {
                    let d = Device {
                        subscription_id: sub,
                        user_id: user,
                        target,
                    };
                    app.send(&d, &payload, &chat.simple().to_string(), urgent)
                        .await
                }
                None => Outcome::Refused(0),
            };
            (sub, chat, position, attempts, outcome)
        })
        .buffer_unordered(app.config.concurrency.max(1))
        .collect()
        .await;
    for (sub, chat, position, attempts, outcome) in outcomes {
        match outcome {
            Outcome::Delivered => {
                forget(&mut tx, sub, chat).await?;
                delivered(&app.pool, sub, chat, position).await?;
            }
            Outcome::Gone => {
                forget(&mut tx, sub, chat).await?;
                gone(&app.pool, sub).await?;
            }
            Outcome::Retry(asked) if attempts + 1 < MAX_ATTEMPTS => {
                sqlx::query(
                    "UPDATE push.retries SET attempts = attempts + 1, \
                       not_before = now() + make_interval(secs => $3) \
                     WHERE subscription_id = $1 AND chat_id = $2",
                )
                .bind(sub)
                .bind(chat)
                .bind(backoff(attempts, asked).as_secs_f64())
                .execute(&mut *tx)
                .await?;
            }
            Outcome::Retry(_) | Outcome::Refused(_) => {
                tracing::warn!(subscription = %sub, attempts, "push notification given up");
                forget(&mut tx, sub, chat).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(n)
}

async fn forget(conn: &mut sqlx::PgConnection, sub: Uuid, chat: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM push.retries WHERE subscription_id = $1 AND chat_id = $2")
        .bind(sub)
        .bind(chat)
        .execute(conn)
        .await?;
    Ok(())
}

/// Retries waiting, for status and tests.
pub async fn waiting(pool: &PgPool) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM push.retries")
        .fetch_one(pool)
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_is_capped_and_honours_retry_after() {
        assert_eq!(backoff(0, None), Duration::from_secs(1));
        assert_eq!(backoff(3, None), Duration::from_secs(8));
        assert_eq!(backoff(30, None), Duration::from_secs(600));
        assert_eq!(
            backoff(0, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }
}
