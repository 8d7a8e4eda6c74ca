//! What the runner reports: positions, lag, leadership, counters; and the
//! read-your-writes wait.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::sql::seconds_since;
use chat_common::read_models::{CheckpointWatch, ReadModel, TimedOut};

/// One projection's state as this process sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub schema: &'static str,
    /// The committed checkpoint (read from the database while standing by).
    pub position: u64,
    /// When the event at `position` occurred.
    pub last_event_at: Option<OffsetDateTime>,
    /// Whether this process holds the projection's lease and applies events.
    pub leader: bool,
    /// Batches and events this process applied since it started.
    pub batches: u64,
    pub events: u64,
    /// The last failure, until the next successful batch.
    pub last_error: Option<String>,
}

impl ProjectionStatus {
    pub(crate) fn new(name: &'static str, schema: &'static str) -> Self {
        Self {
            name,
            schema,
            position: 0,
            last_event_at: None,
            leader: false,
            batches: 0,
            events: 0,
            last_error: None,
        }
    }

    /// Events behind `head`.
    pub fn lag(&self, head_position: u64) -> u64 {
        head_position.saturating_sub(self.position)
    }

    /// Age of the newest applied event while behind `head`; 0 when caught up.
    pub fn lag_seconds(&self, head_position: u64) -> f64 {
        match self.last_event_at {
            _ if self.position >= head_position => 0.0,
            Some(at) => seconds_since(at),
            None => 0.0,
        }
    }
}

pub(crate) type Slot = Arc<Mutex<ProjectionStatus>>;

pub(crate) fn lock(slot: &Slot) -> MutexGuard<'_, ProjectionStatus> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Inner {
    slots: Vec<Slot>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    watch: OnceCell<CheckpointWatch>,
}

/// The running projector: status for `/metrics` and `/readyz`, the
/// read-your-writes wait, and the tasks. Cheap to clone.
#[derive(Clone)]
pub struct ProjectorHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ProjectorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectorHandle")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl ProjectorHandle {
    pub(crate) fn new(slots: Vec<Slot>, tasks: Vec<JoinHandle<()>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                slots,
                tasks: Mutex::new(tasks),
                watch: OnceCell::new(),
            }),
        }
    }

    /// Every projection's status.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.inner.slots.iter().map(|s| lock(s).clone()).collect()
    }

    /// `(name, committed position)` per projection.
    pub fn positions(&self) -> Vec<(&'static str, u64)> {
        self.status().iter().map(|s| (s.name, s.position)).collect()
    }

    /// The lowest checkpoint: everything up to it is in every read model.
    pub fn min_position(&self) -> u64 {
        self.status().iter().map(|s| s.position).min().unwrap_or(0)
    }

    /// Events the slowest projection is behind `head_position`.
    pub fn lag(&self, head_position: u64) -> u64 {
        self.status()
            .iter()
            .map(|s| s.lag(head_position))
            .max()
            .unwrap_or(0)
    }

    /// Seconds the slowest projection is behind (now minus the occurrence of
    /// its newest applied event), 0 when caught up with `head_position`.
    pub fn lag_seconds(&self, head_position: u64) -> f64 {
        self.status()
            .iter()
            .map(|s| s.lag_seconds(head_position))
            .fold(0.0, f64::max)
    }

    /// Wait until every projection's committed checkpoint is at least
    /// `min_position`, for at most `timeout`. Woken by NOTIFY, backed by
    /// polling; the watcher is started on first use with `pool`.
    pub async fn wait_for(
        &self,
        pool: &PgPool,
        min_position: u64,
        timeout: Duration,
    ) -> Result<(), TimedOut> {
        if self.min_position() >= min_position {
            return Ok(());
        }
        let models: Vec<ReadModel> = self
            .status()
            .iter()
            .map(|s| ReadModel {
                name: s.name,
                schema: s.schema,
            })
            .collect();
        let watch = self
            .inner
            .watch
            .get_or_init(|| async { CheckpointWatch::spawn(pool.clone(), &models) })
            .await;
        watch.wait_for(min_position, timeout).await
    }

    /// Stop the tasks at once, wherever they are (a crash, for tests): an
    /// open batch transaction is rolled back, committed ones stay.
    pub fn abort(&self) {
        for task in self.take_tasks() {
            task.abort();
        }
    }

    /// Wait for the tasks to end (after the shutdown signal).
    pub async fn join(&self) {
        for task in self.take_tasks() {
            let _ = task.await;
        }
    }

    fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *tasks)
    }
}
