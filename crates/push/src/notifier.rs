//! The notifier's sending half: every few hundred milliseconds it takes
//! the chats whose oldest pending message has waited `PUSH_DELAY_MS`, and
//! for each (one node at a time, under a per-chat advisory lock, so one
//! chat's notifications go out in order) sends one notification per
//! device about the whole burst, then deletes the burst's rows.
//!
//! It first waits for the read models to reach the burst's last position,
//! so membership, mutes, blocks, status and unread counts are at least as
//! new as the messages. Each device's mark (`push.marks`) is written as
//! soon as its push service took the notification: a notifier killed
//! mid-burst leaves the rows, and the next run skips the devices already
//! told. The window left is a push service that took a request whose
//! answer we never saw: that device may be told twice (Web Push's `Topic`
//! makes the service replace an undelivered one).

use std::collections::HashMap;
use std::time::Duration;

use chat_domain::push::{Notice, notice};
use futures::StreamExt;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::marks::{chat_lock, delivered, gone, mark};
use crate::send::{Device, Outcome};
use crate::{PushApp, facts, retry};

/// How often the notifier looks for due bursts when idle.
const POLL: Duration = Duration::from_millis(200);
/// Most chats taken per round, and handled at once.
const CHATS_PER_ROUND: i64 = 64;
const CHATS_AT_ONCE: usize = 2;
/// How long a burst waits for the read models before the next round.
const READ_MODEL_WAIT: Duration = Duration::from_secs(5);

/// Run until `shutdown` turns true.
pub async fn run(app: PushApp, mut shutdown: watch::Receiver<bool>) {
    loop {
        let worked = match round(&app).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "push round failed");
                0
            }
        };
        if *shutdown.borrow() {
            return;
        }
        if worked == 0 {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { return },
            }
        }
    }
}

/// One round: due bursts, then due retries. Answers how much it did.
pub async fn round(app: &PushApp) -> sqlx::Result<usize> {
    let delay = app.config.delay.as_secs_f64();
    let due: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT chat_id FROM push.pending GROUP BY chat_id \
         HAVING min(at) <= now() - make_interval(secs => $1) \
         ORDER BY min(position) LIMIT $2",
    )
    .bind(delay)
    .bind(CHATS_PER_ROUND)
    .fetch_all(&app.pool)
    .await?;
    let done: Vec<sqlx::Result<usize>> = futures::stream::iter(due)
        .map(|(chat,)| burst(app, chat))
        .buffer_unordered(CHATS_AT_ONCE)
        .collect()
        .await;
    let mut n = 0;
    for d in done {
        n += d?;
    }
    Ok(n + retry::round(app).await?)
}

/// Notify about one chat's pending burst; 0 when another node has it or
/// the read models are not there yet.
async fn burst(app: &PushApp, chat: Uuid) -> sqlx::Result<usize> {
    let mut tx = app.pool.begin().await?;
    if !chat_lock(&mut tx, chat).await? {
        return Ok(0);
    }
    let rows = facts::burst(&mut tx, chat).await?;
    let Some(last) = rows.last().map(|r| r.position) else {
        return Ok(0);
    };
    let upto = u64::try_from(last).unwrap_or(0);
    if app
        .read_models
        .wait_for(upto, READ_MODEL_WAIT)
        .await
        .is_err()
    {
        return Ok(0);
    }
    let sent = facts::sent(&app.pool, &rows).await?;
    let mut recipients = facts::recipients(&app.pool, chat, &rows).await?;
    for r in &mut recipients {
        r.connected = app.presence.connected(r.user_id).await;
    }
    let now = OffsetDateTime::now_utc();
    let notices: HashMap<Uuid, Notice> = recipients
        .iter()
        .filter_map(|r| notice(r, &sent, now).map(|n| (r.user_id, n)))
        .collect();
    if !notices.is_empty() {
        let users: Vec<Uuid> = notices.keys().copied().collect();
        let badges = facts::badges(&app.pool, &users).await?;
        let title = facts::title(&app.pool, chat).await?;
        let devices = facts::devices(&app.pool, chat, &users, &app.config.endpoint_allow).await?;
        // A device still owed an earlier notification of this chat gets one
        // covering both: the newer one replaces the waiting retry.
        let owed = facts::owed(&app.pool, chat).await?;
        let jobs = devices
            .into_iter()
            .filter(|(_, mark)| *mark < last)
            .map(|(d, _)| {
                let n = &notices[&d.user_id];
                let count = n.count as u64 + owed.get(&d.subscription_id).copied().unwrap_or(0);
                let alert = chat_domain::push::alert(n, title.as_deref(), count);
                let payload = json!({
                    "type": n.reason,
                    "chat_id": chat,
                    "chat_title": title,
                    "message_id": n.message_id,
                    "seq": n.seq,
                    "count": count,
                    "sender_id": n.sender_id,
                    "sender_name": n.sender_name,
                    "preview": n.preview,
                    "badge": badges.get(&d.user_id).copied().unwrap_or(0),
                    "title": alert.title,
                    "body": alert.body,
                });
                let urgent = n.reason != chat_domain::push::Reason::Message;
                (d, payload, urgent)
            });
        let results: Vec<sqlx::Result<()>> = futures::stream::iter(jobs)
            .map(|(d, payload, urgent)| deliver(app, d, chat, last, payload, urgent))
            .buffer_unordered(app.config.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
    }
    sqlx::query("DELETE FROM push.pending WHERE chat_id = $1 AND position <= $2")
        .bind(chat)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Send one device its notification and record what came of it.
async fn deliver(
    app: &PushApp,
    to: Device,
    chat: Uuid,
    position: i64,
    payload: serde_json::Value,
    urgent: bool,
) -> sqlx::Result<()> {
    let outcome = app
        .send(&to, &payload, &chat.simple().to_string(), urgent)
        .await;
    match outcome {
        Outcome::Delivered => {
            delivered(&app.pool, to.subscription_id, chat, position).await?;
        }
        Outcome::Gone => gone(&app.pool, to.subscription_id).await?,
        Outcome::Retry(after) => {
            // The retry row now answers for this device and chat.
            mark(&app.pool, to.subscription_id, chat, position).await?;
            sqlx::query(
                "INSERT INTO push.retries (subscription_id, chat_id, position, payload, urgent, \
                   attempts, not_before) \
                 VALUES ($1, $2, $3, $4, $5, 1, now() + make_interval(secs => $6)) \
                 ON CONFLICT (subscription_id, chat_id) DO UPDATE SET position = EXCLUDED.position, \
                   payload = EXCLUDED.payload, urgent = EXCLUDED.urgent",
            )
            .bind(to.subscription_id)
            .bind(chat)
            .bind(position)
            .bind(&payload)
            .bind(urgent)
            .bind(retry::backoff(0, after).as_secs_f64())
            .execute(&app.pool)
            .await?;
        }
        Outcome::Refused(status) => {
            tracing::warn!(status, subscription = %to.subscription_id, "push service refused a notification");
            mark(&app.pool, to.subscription_id, chat, position).await?;
        }
    }
    Ok(())
}
