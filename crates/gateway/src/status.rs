//! The statuses users chose (`StatusChanged` on their streams), as this
//! node knows them: read from the users read model at start, then kept by
//! the node's tail. Every change (and every end of a timed status) is
//! handed to the signal dispatcher, which shows it to whoever may see the
//! user's presence, through the domain's one rule
//! ([`chat_domain::user::status::shown`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chat_domain::UserEvent;
use chat_domain::user::status::{Availability, CustomStatus};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Status changes waiting for the dispatcher; past this they are dropped
/// (the next presence signal of that user renders the new status anyway).
const CHANGES: usize = 1024;

#[derive(Clone)]
pub struct Statuses {
    by_user: Arc<Mutex<HashMap<Uuid, CustomStatus>>>,
    changed: mpsc::Sender<Uuid>,
}

impl Statuses {
    /// The statuses set so far, and the receiver of later changes.
    pub async fn load(pool: &PgPool) -> Result<(Statuses, mpsc::Receiver<Uuid>), sqlx::Error> {
        let rows: Vec<(Uuid, String, Option<String>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT user_id, status, status_text, status_expires_at FROM rm_users.users \
             WHERE status IS NOT NULL",
        )
        .fetch_all(pool)
        .await?;
        let by_user = rows
            .into_iter()
            .filter_map(|(user, status, text, expires_at)| {
                let status: Availability = serde_json::from_value(status.into()).ok()?;
                let custom = CustomStatus {
                    status,
                    text,
                    expires_at,
                };
                Some((user, custom))
            })
            .collect();
        let (changed, rx) = mpsc::channel(CHANGES);
        let statuses = Statuses {
            by_user: Arc::new(Mutex::new(by_user)),
            changed,
        };
        Ok((statuses, rx))
    }

    pub fn get(&self, user: Uuid) -> Option<CustomStatus> {
        self.lock().get(&user).cloned()
    }

    /// A user event from the tail: a `StatusChanged` replaces the user's.
    pub fn apply(&self, event_type: &str, payload: &serde_json::Value) {
        if event_type != "StatusChanged" {
            return;
        }
        let Ok(UserEvent::StatusChanged {
            user_id,
            status,
            text,
            expires_at,
            ..
        }) = serde_json::from_value(payload.clone())
        else {
            tracing::error!("unreadable StatusChanged: not shown");
            return;
        };
        let custom = CustomStatus {
            status,
            text,
            expires_at,
        };
        self.lock().insert(user_id, custom);
        let _ = self.changed.try_send(user_id);
    }

    /// Users whose timed status ended by `now`: forgotten, to be shown anew.
    pub fn take_ended(&self, now: OffsetDateTime) -> Vec<Uuid> {
        let mut by_user = self.lock();
        let ended: Vec<Uuid> = by_user
            .iter()
            .filter(|(_, c)| c.at(now).is_none())
            .map(|(u, _)| *u)
            .collect();
        for user in &ended {
            by_user.remove(user);
        }
        ended
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, CustomStatus>> {
        self.by_user.lock().unwrap_or_else(|e| e.into_inner())
    }
}
