//! The `media` projection (schema `rm_media`): uploads and the messages
//! that reference them, for download authorization ("is the caller in a chat
//! where a live message carries this media?") and the cleanup job ("which
//! uploads are unattached or no longer referenced?").
//!
//! Forwards copy their source's media descriptor, so one upload may be
//! referenced by many messages in many chats; each reference is a row.

use async_trait::async_trait;
use chat_common::read_models;
use chat_domain::{ChatEvent, UserEvent};
use chat_store::RecordedEvent;
use sqlx::PgConnection;

use crate::error::Result;
use crate::projection::{Fact, Projection};
use crate::sql::{big, label};

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaProjection;

#[async_trait]
impl Projection for MediaProjection {
    fn name(&self) -> &'static str {
        read_models::MEDIA.name
    }

    fn schema(&self) -> &'static str {
        read_models::MEDIA.schema
    }

    /// Uploads, deletes, and the messages that carry media.
    fn handles(&self, event: &RecordedEvent) -> bool {
        match event.event_type.as_str() {
            "MediaUploaded" | "MediaDeleted" | "MessageDeleted" | "UserErased" => true,
            "MessageSent" => event.payload.get("media").is_some_and(|m| !m.is_null()),
            _ => false,
        }
    }

    async fn apply(&self, conn: &mut PgConnection, s: &str, event: &RecordedEvent) -> Result<()> {
        let pos = big(event.position);
        match Fact::decode(event)? {
            Some(Fact::User(UserEvent::MediaUploaded {
                media,
                file_name,
                at,
                ..
            })) => {
                sqlx::query(&format!(
                    "INSERT INTO {s}.media (media_id, owner_id, kind, mime, size, sha256, width, \
                       height, duration_ms, file_name, uploaded_at, position) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (media_id) DO NOTHING"
                ))
                .bind(media.media_id)
                .bind(media.owner_id)
                .bind(label(&media.kind))
                .bind(&media.mime)
                .bind(big(media.size))
                .bind(&media.sha256)
                .bind(media.width.map(|w| w as i32))
                .bind(media.height.map(|h| h as i32))
                .bind(media.duration_ms.map(big))
                .bind(file_name)
                .bind(at)
                .bind(pos)
                .execute(conn)
                .await?;
            }
            Some(Fact::User(UserEvent::MediaDeleted { media_id, at, .. })) => {
                sqlx::query(&format!(
                    "UPDATE {s}.media SET deleted_at = $2, position = $3 \
                     WHERE media_id = $1 AND position < $3"
                ))
                .bind(media_id)
                .bind(at)
                .bind(pos)
                .execute(conn)
                .await?;
            }
            Some(Fact::User(UserEvent::UserErased { user_id, .. })) => {
                // Their uploads are personal data too: counted as
                // unreferenced, so the cleanup job deletes the blobs (the
                // messages then show the media removed).
                for sql in [
                    format!("UPDATE {s}.media SET file_name = NULL WHERE owner_id = $1"),
                    format!(
                        "UPDATE {s}.refs r SET deleted = true FROM {s}.media m \
                          WHERE m.media_id = r.media_id AND m.owner_id = $1"
                    ),
                ] {
                    sqlx::query(&sql).bind(user_id).execute(&mut *conn).await?;
                }
            }
            Some(Fact::Chat(ChatEvent::MessageSent {
                chat_id,
                message_id,
                seq,
                media: Some(media),
                ..
            })) => {
                sqlx::query(&format!(
                    "INSERT INTO {s}.refs (media_id, chat_id, message_id, seq, position) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (media_id, message_id) DO NOTHING"
                ))
                .bind(media.media_id)
                .bind(chat_id)
                .bind(message_id)
                .bind(big(seq))
                .bind(pos)
                .execute(conn)
                .await?;
            }
            Some(Fact::Chat(ChatEvent::MessageDeleted { chat_id, seq, .. })) => {
                sqlx::query(&format!(
                    "UPDATE {s}.refs SET deleted = true, position = $3 \
                     WHERE chat_id = $1 AND seq = $2 AND position < $3"
                ))
                .bind(chat_id)
                .bind(big(seq))
                .bind(pos)
                .execute(conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
