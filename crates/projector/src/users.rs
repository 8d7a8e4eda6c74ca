//! The `users` projection (schema `rm_users`): the user directory (profile,
//! settings) and who blocked whom.
//!
//! Last seen is not here: it is not in the log, so the gateway keeps it in
//! a table of its own (`gateway.last_seen`) that no rebuild replaces.

use async_trait::async_trait;
use chat_common::read_models;
use chat_domain::UserEvent;
use chat_domain::erasure::DELETED_USER;
use chat_store::RecordedEvent;
use sqlx::PgConnection;

use crate::error::Result;
use crate::projection::{Fact, Projection};
use crate::sql::{big, label};

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsersProjection;

#[async_trait]
impl Projection for UsersProjection {
    fn name(&self) -> &'static str {
        read_models::USERS.name
    }

    fn schema(&self) -> &'static str {
        read_models::USERS.schema
    }

    fn handles(&self, event: &RecordedEvent) -> bool {
        matches!(
            event.event_type.as_str(),
            "UserRegistered"
                | "ProfileUpdated"
                | "SettingsChanged"
                | "StatusChanged"
                | "UserBlocked"
                | "UserUnblocked"
                | "UserErased"
        )
    }

    async fn apply(&self, conn: &mut PgConnection, s: &str, event: &RecordedEvent) -> Result<()> {
        let Some(Fact::User(user_event)) = Fact::decode(event)? else {
            return Ok(());
        };
        let pos = big(event.position);
        match user_event {
            UserEvent::UserRegistered {
                user_id,
                username,
                display_name,
                at,
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {s}.users AS u (user_id, username, display_name, registered_at, position) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, \
                       display_name = EXCLUDED.display_name, registered_at = EXCLUDED.registered_at, \
                       position = EXCLUDED.position \
                     WHERE u.position < EXCLUDED.position"
                ))
                .bind(user_id)
                .bind(username)
                .bind(display_name)
                .bind(at)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::ProfileUpdated {
                user_id,
                display_name,
                avatar_url,
                bio,
                ..
            } => {
                sqlx::query(&format!(
                    "UPDATE {s}.users SET display_name = $2, avatar_url = $3, bio = $4, position = $5 \
                     WHERE user_id = $1 AND position < $5"
                ))
                .bind(user_id)
                .bind(display_name)
                .bind(avatar_url)
                .bind(bio)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::SettingsChanged {
                user_id,
                read_receipts,
                last_seen_visible_to,
                accept_requests_from,
                push_preview,
                ..
            } => {
                sqlx::query(&format!(
                    "UPDATE {s}.users SET read_receipts = $2, last_seen_visible_to = $3, \
                       accept_requests_from = $4, push_preview = $6, position = $5 \
                     WHERE user_id = $1 AND position < $5"
                ))
                .bind(user_id)
                .bind(read_receipts)
                .bind(label(&last_seen_visible_to))
                .bind(label(&accept_requests_from))
                .bind(pos)
                .bind(label(&push_preview))
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::StatusChanged {
                user_id,
                status,
                text,
                expires_at,
                ..
            } => {
                sqlx::query(&format!(
                    "UPDATE {s}.users SET status = $2, status_text = $3, status_expires_at = $4, \
                       position = $5 WHERE user_id = $1 AND position < $5"
                ))
                .bind(user_id)
                .bind(label(&status))
                .bind(text)
                .bind(expires_at)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::UserBlocked {
                user_id,
                blocked_user_id,
                ..
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {s}.blocks AS b (user_id, blocked_user_id, position) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, blocked_user_id) DO UPDATE SET position = EXCLUDED.position \
                     WHERE b.position < EXCLUDED.position"
                ))
                .bind(user_id)
                .bind(blocked_user_id)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::UserUnblocked {
                user_id,
                blocked_user_id,
                ..
            } => {
                sqlx::query(&format!(
                    "DELETE FROM {s}.blocks WHERE user_id = $1 AND blocked_user_id = $2 AND position < $3"
                ))
                .bind(user_id)
                .bind(blocked_user_id)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            UserEvent::UserErased { user_id, at } => {
                // What a rebuild would find after the keys are gone (blank
                // names) shown as the deleted user; out of the directory.
                sqlx::query(&format!(
                    "UPDATE {s}.users SET username = '', display_name = $2, avatar_url = NULL, \
                       bio = NULL, status = NULL, status_text = NULL, status_expires_at = NULL, \
                       erased_at = $3, position = $4 \
                     WHERE user_id = $1 AND position < $4"
                ))
                .bind(user_id)
                .bind(DELETED_USER)
                .bind(at)
                .bind(pos)
                .execute(&mut *conn)
                .await?;
            }
            // Per-chat preferences belong to the chats projection, hidden
            // messages to the messages projection.
            UserEvent::ChatMuted { .. }
            | UserEvent::ChatUnmuted { .. }
            | UserEvent::ChatArchived { .. }
            | UserEvent::ChatUnarchived { .. }
            | UserEvent::ChatCleared { .. }
            | UserEvent::MessageHiddenForMe { .. }
            | UserEvent::MediaUploaded { .. }
            | UserEvent::MediaDeleted { .. } => {}
        }
        Ok(())
    }
}
