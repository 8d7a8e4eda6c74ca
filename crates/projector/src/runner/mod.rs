//! The projection runner: one task per projection.
//!
//! Each task takes its projection's [lease] (or stands by, retrying),
//! reads the committed checkpoint, subscribes to the event store after it and
//! applies whatever is ready (up to `batch_size` events) in one transaction
//! that also moves the checkpoint, on the lease's own connection (whose
//! commits do not wait for the disk: see [`lease`]). A batch of events the
//! projection does not handle only moves the checkpoint, in one statement. On any failure (the database restarting,
//! the store unavailable, a poison event) it logs, drops its lease, backs off
//! and starts over from the committed checkpoint, so nothing is lost or
//! applied twice. A shutdown signal is honoured between batches.

pub mod batch;
pub(crate) mod leader;
pub mod lease;
pub mod status;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_store::EventStore;
use futures::StreamExt;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::error::{ProjectorError, Result};
use crate::projection::Projection;
use crate::sql::analyze_schema;

/// Events applied before the runner refreshes its tables' statistics.
const ANALYZE_AFTER: u64 = 100_000;
use batch::{apply_batch_on, ensure_checkpoint, read_checkpoint, skip_batch};
use leader::{Ended, Leader, Pauses};
use lease::Lease;
use status::{ProjectionStatus, ProjectorHandle, Slot, lock};

/// Tuning knobs of the runner.
#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// How often a standby tries to take the lease.
    pub lease_retry: Duration,
    /// How often the leader checks its lease connection is alive.
    pub lease_check: Duration,
    /// First back-off after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        Self {
            batch_size: 2_000,
            lease_retry: Duration::from_secs(1),
            lease_check: Duration::from_secs(2),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Start one runner task per projection. They stop between batches once
/// `shutdown` turns `true` (or its sender is dropped).
pub fn spawn(
    pool: PgPool,
    store: Arc<dyn EventStore>,
    projections: Vec<Arc<dyn Projection>>,
    config: ProjectorConfig,
    shutdown: watch::Receiver<bool>,
) -> ProjectorHandle {
    let mut slots = Vec::with_capacity(projections.len());
    let mut tasks = Vec::with_capacity(projections.len());
    for projection in projections {
        let slot: Slot = Arc::new(Mutex::new(ProjectionStatus::new(
            projection.name(),
            projection.schema(),
        )));
        let runner = Runner {
            pool: pool.clone(),
            store: store.clone(),
            projection,
            config: config.clone(),
            slot: slot.clone(),
            shutdown: shutdown.clone(),
        };
        slots.push(slot);
        tasks.push(tokio::spawn(leader::run(runner)));
    }
    ProjectorHandle::new(slots, tasks)
}

struct Runner {
    pool: PgPool,
    store: Arc<dyn EventStore>,
    projection: Arc<dyn Projection>,
    config: ProjectorConfig,
    slot: Slot,
    shutdown: watch::Receiver<bool>,
}

impl Leader for Runner {
    type Error = ProjectorError;

    fn label(&self) -> String {
        format!("projection={}", self.projection.name())
    }

    fn slot(&self) -> &Slot {
        &self.slot
    }

    fn shutdown(&mut self) -> &mut watch::Receiver<bool> {
        &mut self.shutdown
    }

    fn pauses(&self) -> Pauses {
        Pauses {
            lease_retry: self.config.lease_retry,
            min_backoff: self.config.min_backoff,
            max_backoff: self.config.max_backoff,
        }
    }

    async fn lead(&mut self) -> Result<Ended> {
        self.term().await
    }

    // A rebuild swapped the tables in (or a former leader committed late):
    // resume from the checkpoint as it is.
    fn is_hand_over(e: &ProjectorError) -> bool {
        matches!(e, ProjectorError::CheckpointMoved { .. })
    }

    async fn refresh(&self) {
        self.refresh_from_db().await;
    }
}

impl Runner {
    /// One term: take the lease, then tail and apply until shutdown or error.
    async fn term(&mut self) -> Result<Ended> {
        let schema = self.projection.schema();
        let Some(mut lease) = Lease::try_acquire(&self.pool, schema).await? else {
            return Ok(Ended::NotLeader);
        };
        let result = self.apply_while_leading(&mut lease).await;
        lease.release().await;
        result
    }

    async fn apply_while_leading(&mut self, lease: &mut Lease) -> Result<Ended> {
        let (name, schema) = (self.projection.name(), self.projection.schema());
        let mut conn = self.pool.acquire().await?;
        ensure_checkpoint(&mut conn, schema).await?;
        drop(conn);
        let mut checkpoint = read_checkpoint(&self.pool, schema).await?;
        {
            let mut st = lock(&self.slot);
            st.leader = true;
            st.position = checkpoint.position;
            st.last_event_at = checkpoint.last_event_at;
        }
        info!(
            projection = name,
            position = checkpoint.position,
            "took the lease; applying"
        );
        let mut events = self
            .store
            .subscribe(checkpoint.position)
            .ready_chunks(self.config.batch_size.max(1));
        let mut lease_check = tokio::time::interval(self.config.lease_check);
        lease_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut since_analyze = 0u64;
        loop {
            let chunk = tokio::select! {
                biased;
                stop = self.shutdown.changed() => {
                    if stop.is_err() || *self.shutdown.borrow() {
                        return Ok(Ended::Shutdown);
                    }
                    continue;
                }
                _ = lease_check.tick() => {
                    lease.check().await?;
                    continue;
                }
                chunk = events.next() => chunk,
            };
            let Some(chunk) = chunk else {
                return Err(ProjectorError::Store(chat_store::StoreError::ShuttingDown));
            };
            let batch = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
            let (projection, from) = (self.projection.as_ref(), checkpoint.position);
            let conn = lease.conn();
            checkpoint = if batch.iter().any(|e| projection.handles(e)) {
                apply_batch_on(conn, projection, schema, from, &batch).await?
            } else {
                skip_batch(conn, projection, schema, from, &batch).await?
            };
            // After a large catch-up, re-analyze once caught up (or every
            // million events on the way) rather than wait for autovacuum.
            since_analyze += batch.len() as u64;
            if since_analyze >= ANALYZE_AFTER
                && (since_analyze >= 10 * ANALYZE_AFTER
                    || self.store.head_position().await? <= checkpoint.position)
            {
                since_analyze = 0;
                if let Err(e) = analyze_schema(&self.pool, schema).await {
                    warn!(projection = name, error = %e, "refreshing statistics failed");
                }
            }
            let mut st = lock(&self.slot);
            st.position = checkpoint.position;
            st.last_event_at = checkpoint.last_event_at;
            st.batches += 1;
            st.events += batch.len() as u64;
            st.last_error = None;
        }
    }

    /// While standing by, report the leader's committed progress.
    async fn refresh_from_db(&self) {
        if let Ok(cp) = read_checkpoint(&self.pool, self.projection.schema()).await {
            let mut st = lock(&self.slot);
            st.position = cp.position;
            st.last_event_at = cp.last_event_at;
        }
    }
}
