//! Read-your-writes: wait until every read model has passed a position.
//!
//! One watcher task per process reads the projections' committed checkpoints
//! whenever a `chat_projections` notification arrives, whenever a waiter asks,
//! and on a poll timer. Notifications only make it faster: a lost one (the
//! LISTEN connection dropping) costs at most one poll interval.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};
use tracing::debug;

use crate::NOTIFY_CHANNEL;
use crate::sql::check_schema;

/// How often the watcher reads the checkpoints without being woken.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The wait ended before every read model reached the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("read models reached position {reached}, not {wanted}, in time")]
pub struct TimedOut {
    pub wanted: u64,
    pub reached: u64,
}

/// Watches the lowest committed checkpoint of a set of projections.
#[derive(Clone)]
pub struct CheckpointWatch {
    rx: watch::Receiver<u64>,
    kick: Arc<Notify>,
}

impl std::fmt::Debug for CheckpointWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointWatch")
            .field("position", &*self.rx.borrow())
            .finish()
    }
}

impl CheckpointWatch {
    /// Watch the checkpoints of `schemas` (e.g. `rm_users`, `rm_chats`,
    /// `rm_messages`). The task ends when the last clone is dropped.
    pub fn spawn(pool: PgPool, schemas: Vec<&'static str>) -> Self {
        Self::spawn_with(pool, schemas, POLL_INTERVAL)
    }

    /// Watch every projection of [`all_projections`](crate::all_projections).
    pub fn all(pool: PgPool) -> Self {
        let schemas = crate::all_projections()
            .iter()
            .map(|p| p.schema())
            .collect();
        Self::spawn(pool, schemas)
    }

    pub fn spawn_with(pool: PgPool, schemas: Vec<&'static str>, poll: Duration) -> Self {
        let (tx, rx) = watch::channel(0u64);
        let kick = Arc::new(Notify::new());
        let sql = min_checkpoint_sql(&schemas);
        tokio::spawn(watch_task(pool, sql, poll, tx, kick.clone()));
        Self { rx, kick }
    }

    /// The lowest committed checkpoint last seen.
    pub fn position(&self) -> u64 {
        *self.rx.borrow()
    }

    /// Return once every watched checkpoint is at least `min_position`, or
    /// `TimedOut` after `timeout`.
    pub async fn wait_for(&self, min_position: u64, timeout: Duration) -> Result<(), TimedOut> {
        let mut rx = self.rx.clone();
        if *rx.borrow_and_update() >= min_position {
            return Ok(());
        }
        // The last reading may be older than the write being waited for.
        self.kick.notify_one();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= min_position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(TimedOut {
                wanted: min_position,
                reached: *self.rx.borrow(),
            }),
        }
    }
}

/// `SELECT least(...)` over the schemas' checkpoints. Unknown schema names
/// are dropped (they would not be plain identifiers).
fn min_checkpoint_sql(schemas: &[&str]) -> String {
    let parts: Vec<String> = schemas
        .iter()
        .filter(|s| check_schema(s).is_ok())
        .map(|s| format!("(SELECT coalesce(max(position), 0) FROM {s}.checkpoint)"))
        .collect();
    match parts.len() {
        0 => "SELECT 0::bigint".to_owned(),
        1 => format!("SELECT {}", parts[0]),
        _ => format!("SELECT least({})", parts.join(", ")),
    }
}

async fn watch_task(
    pool: PgPool,
    sql: String,
    poll: Duration,
    tx: watch::Sender<u64>,
    kick: Arc<Notify>,
) {
    let mut listener: Option<PgListener> = None;
    loop {
        if listener.is_none() {
            listener = listen(&pool).await;
        }
        match sqlx::query_as::<_, (i64,)>(&sql).fetch_one(&pool).await {
            Ok((p,)) => {
                let p = u64::try_from(p).unwrap_or(0);
                tx.send_if_modified(|v| {
                    let newer = p > *v;
                    if newer {
                        *v = p;
                    }
                    newer
                });
            }
            Err(e) => debug!(error = %e, "reading projection checkpoints failed"),
        }
        let notified = async {
            match listener.as_mut() {
                Some(l) => l.try_recv().await.map(|n| n.is_some()).unwrap_or(false),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            alive = notified => {
                if !alive {
                    listener = None;
                }
            }
            _ = kick.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = tx.closed() => return,
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen(NOTIFY_CHANNEL).await.ok()?;
    Some(l)
}
