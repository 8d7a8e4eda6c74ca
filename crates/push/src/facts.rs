//! What the notifier reads when a burst goes out: the burst itself, the
//! read models' facts about its messages and recipients (members with a
//! subscribed device), their badges and their devices. Every query reads
//! read models the notifier first waited for (up to the burst's position).

use std::collections::HashMap;

use chat_domain::MessageKind;
use chat_domain::push::{PushPreview, Recipient, Sent};
use chat_domain::user::status::{Availability, CustomStatus};
use chat_domain::visibility::Window;
use chat_projector::chats::preview::preview;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ece::Receiver;
use crate::endpoint::allowed;
use crate::send::{Device, Target};

/// One `push.pending` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRow {
    pub position: i64,
    pub message_id: Option<Uuid>,
    pub seq: i64,
    pub sender_id: Uuid,
    pub recipient_id: Option<Uuid>,
    pub mentions: Vec<Uuid>,
}

/// A chat's pending rows, oldest first (locked by the caller's transaction).
pub async fn burst(conn: &mut PgConnection, chat: Uuid) -> sqlx::Result<Vec<PendingRow>> {
    sqlx::query_as(
        "SELECT position, message_id, seq, sender_id, recipient_id, mentions \
           FROM push.pending WHERE chat_id = $1 ORDER BY position FOR UPDATE",
    )
    .bind(chat)
    .fetch_all(conn)
    .await
}

/// The burst as the domain rule takes it: each message with its sender's
/// name and the chat list's preview of it (deleted ones marked).
pub async fn sent(pool: &PgPool, rows: &[PendingRow]) -> sqlx::Result<Vec<Sent>> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.message_id).collect();
    let senders: Vec<Uuid> = rows.iter().map(|r| r.sender_id).collect();
    let messages: HashMap<Uuid, (String, Option<String>, bool)> = sqlx::query_as(
        "SELECT message_id, kind, text, deleted_at IS NOT NULL \
           FROM rm_messages.messages WHERE message_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(
        |(id, kind, text, deleted): (Uuid, String, Option<String>, bool)| {
            (id, (kind, text, deleted))
        },
    )
    .collect();
    let names: HashMap<Uuid, String> =
        sqlx::query_as("SELECT user_id, display_name FROM rm_users.users WHERE user_id = ANY($1)")
            .bind(&senders)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    Ok(rows
        .iter()
        .map(|r| {
            let message = r.message_id.and_then(|id| messages.get(&id));
            let text = message.map(|(kind, text, _)| {
                let kind: MessageKind =
                    serde_json::from_value(serde_json::Value::from(kind.as_str()))
                        .unwrap_or(MessageKind::Text);
                preview(kind, text.as_deref())
            });
            Sent {
                message_id: r.message_id,
                seq: u64::try_from(r.seq).unwrap_or(0),
                sender_id: r.sender_id,
                sender_name: names.get(&r.sender_id).cloned().unwrap_or_default(),
                text,
                // A message the read model no longer has is gone too.
                deleted: r.message_id.is_some() && message.is_none_or(|m| m.2),
                mentions: r.mentions.clone(),
                request: r.recipient_id.is_some(),
            }
        })
        .collect())
}

type RecipientRow = (
    Uuid,
    i64,
    Option<i64>,
    i64,
    bool,
    Vec<Uuid>,
    Option<String>,
    Option<String>,
    Option<OffsetDateTime>,
    Vec<Uuid>,
    Option<String>,
);

/// The members of `chat` who may see a message from `from_seq` on and
/// have a subscribed device, plus the recipients of chat requests who are
/// not among them (once each: a member's own row carries their mute and
/// range); each with the facts the rule needs (`connected` is filled in
/// by the caller).
pub async fn recipients(
    pool: &PgPool,
    chat: Uuid,
    rows: &[PendingRow],
) -> sqlx::Result<Vec<Recipient>> {
    let senders: Vec<Uuid> = rows.iter().map(|r| r.sender_id).collect();
    let requested: Vec<Uuid> = rows.iter().filter_map(|r| r.recipient_id).collect();
    let messages: Vec<Uuid> = rows.iter().filter_map(|r| r.message_id).collect();
    let from_seq = rows
        .iter()
        .filter(|r| r.recipient_id.is_none())
        .map(|r| r.seq)
        .min();
    let found: Vec<RecipientRow> = sqlx::query_as(
        "WITH who AS ( \
             SELECT m.user_id, m.joined_seq, m.left_seq, \
                    coalesce(uc.cleared_up_to_seq, 0) AS cleared, \
                    coalesce(uc.muted_forever OR uc.muted_until > now(), false) AS muted \
               FROM rm_chats.members m \
               LEFT JOIN rm_chats.user_chats uc ON uc.user_id = m.user_id AND uc.chat_id = m.chat_id \
              WHERE $2::bigint IS NOT NULL AND m.chat_id = $1 \
                AND (m.left_seq IS NULL OR m.left_seq >= $2) \
             UNION ALL \
             SELECT r, 0, NULL, 0, false FROM unnest($3::uuid[]) r \
              WHERE $2::bigint IS NULL OR NOT EXISTS ( \
                    SELECT 1 FROM rm_chats.members m2 WHERE m2.chat_id = $1 AND m2.user_id = r)) \
         SELECT w.user_id, w.joined_seq, w.left_seq, w.cleared, w.muted, \
                ARRAY(SELECT h.message_id FROM rm_messages.hidden h \
                       WHERE h.user_id = w.user_id AND h.message_id = ANY($5)), \
                u.status, u.status_text, u.status_expires_at, \
                ARRAY(SELECT b.blocked_user_id FROM rm_users.blocks b \
                       WHERE b.user_id = w.user_id AND b.blocked_user_id = ANY($4)), \
                u.push_preview \
           FROM who w LEFT JOIN rm_users.users u ON u.user_id = w.user_id \
          WHERE EXISTS (SELECT 1 FROM push.subscriptions s WHERE s.user_id = w.user_id)",
    )
    .bind(chat)
    .bind(from_seq)
    .bind(&requested)
    .bind(&senders)
    .bind(&messages)
    .fetch_all(pool)
    .await?;
    Ok(found
        .into_iter()
        .map(
            |(
                user_id,
                joined,
                left,
                cleared,
                muted,
                hidden,
                status,
                text,
                expires_at,
                blocks,
                preview,
            )| Recipient {
                user_id,
                window: Window {
                    joined_seq: seq(joined),
                    cleared_seq: seq(cleared),
                    left_seq: left.map(seq),
                },
                hidden,
                muted,
                status: status.and_then(|s| {
                    let status: Availability =
                        serde_json::from_value(serde_json::Value::from(s)).ok()?;
                    Some(CustomStatus {
                        status,
                        text,
                        expires_at,
                    })
                }),
                blocks,
                connected: false,
                preview: preview
                    .and_then(|p| serde_json::from_value(serde_json::Value::from(p)).ok())
                    .unwrap_or(PushPreview::Full),
            },
        )
        .collect())
}

fn seq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

const BADGE_SQL: &str = concat!(
    "SELECT u.user_id, ",
    chat_common::total_unread!(),
    " FROM rm_users.users u WHERE u.user_id = ANY($1)"
);

/// Each user's total unread count (`GET /v1/me`'s `total_unread`), for
/// the badge.
pub async fn badges(pool: &PgPool, users: &[Uuid]) -> sqlx::Result<HashMap<Uuid, u64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(BADGE_SQL)
        .bind(users)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(u, n)| (u, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Per device, how many messages of `chat` a waiting retry covers.
pub async fn owed(pool: &PgPool, chat: Uuid) -> sqlx::Result<HashMap<Uuid, u64>> {
    let rows: Vec<(Uuid, Option<i64>)> = sqlx::query_as(
        "SELECT subscription_id, (payload->>'count')::bigint FROM push.retries WHERE chat_id = $1",
    )
    .bind(chat)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (s, n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)))
        .collect())
}

/// The chat's title (groups and channels), for the notification's heading.
pub async fn title(pool: &PgPool, chat: Uuid) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT title FROM rm_chats.chats WHERE chat_id = $1")
            .bind(chat)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|r| r.0))
}

type DeviceRow = (
    Uuid,
    Uuid,
    String,
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
);

/// Where a stored subscription is reached; `None` for one that can no
/// longer be (a Web Push endpoint the narrowed allow-list refuses, keys
/// that do not parse).
pub fn target(
    kind: &str,
    endpoint: &str,
    p256dh: Option<Vec<u8>>,
    auth: Option<Vec<u8>>,
    allow: &[String],
) -> Option<Target> {
    match kind {
        "webpush" => Some(Target::WebPush {
            endpoint: allowed(endpoint, allow)?,
            keys: Receiver::from_bytes(&p256dh?, &auth?).ok()?,
        }),
        "fcm" => Some(Target::Fcm {
            token: endpoint.to_owned(),
        }),
        "apns" => Some(Target::Apns {
            token: endpoint.to_owned(),
        }),
        _ => None,
    }
}

/// The devices of `users`, each with the last position a notification
/// about `chat` covered.
pub async fn devices(
    pool: &PgPool,
    chat: Uuid,
    users: &[Uuid],
    allow: &[String],
) -> sqlx::Result<Vec<(Device, i64)>> {
    let rows: Vec<DeviceRow> = sqlx::query_as(
        "SELECT s.subscription_id, s.user_id, s.kind, s.endpoint, s.p256dh, s.auth, k.position \
           FROM push.subscriptions s \
           LEFT JOIN push.marks k ON k.subscription_id = s.subscription_id AND k.chat_id = $1 \
          WHERE s.user_id = ANY($2)",
    )
    .bind(chat)
    .bind(users)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, user, kind, endpoint, p256dh, auth, mark)| {
            let device = Device {
                subscription_id: id,
                user_id: user,
                target: target(&kind, &endpoint, p256dh, auth, allow)?,
            };
            Some((device, mark.unwrap_or(0)))
        })
        .collect())
}
