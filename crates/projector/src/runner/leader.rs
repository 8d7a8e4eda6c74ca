//! The loop every leased worker runs (each projection's runner and the Kafka
//! publisher): lead a term; on error back off (doubling) and start over from
//! the committed checkpoint; stand by while another process leads; stop
//! between terms once shutdown is signalled.

use std::fmt::Display;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::status::{Slot, lock};

/// Why a leadership term ended without an error.
pub(crate) enum Ended {
    Shutdown,
    NotLeader,
}

/// Pauses between terms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pauses {
    pub lease_retry: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

/// A worker that runs in terms while it holds its lease.
pub(crate) trait Leader {
    type Error: Display;
    /// For the logs: e.g. `projection=chats`.
    fn label(&self) -> String;
    fn slot(&self) -> &Slot;
    fn shutdown(&mut self) -> &mut watch::Receiver<bool>;
    fn pauses(&self) -> Pauses;
    /// Take the lease and work until shutdown or an error.
    async fn lead(&mut self) -> Result<Ended, Self::Error>;
    /// An error that is a normal hand-over, retried at once and not
    /// reported as a failure (a rebuild swapped the tables in).
    fn is_hand_over(_: &Self::Error) -> bool {
        false
    }
    /// While standing by: report the leader's committed progress.
    async fn refresh(&self);
}

pub(crate) async fn run<L: Leader>(mut worker: L) {
    let label = worker.label();
    let pauses = worker.pauses();
    let mut backoff = pauses.min_backoff;
    while !*worker.shutdown().borrow() {
        let pause = match worker.lead().await {
            Ok(Ended::Shutdown) => break,
            Ok(Ended::NotLeader) => {
                worker.refresh().await;
                backoff = pauses.min_backoff;
                pauses.lease_retry
            }
            Err(e) if L::is_hand_over(&e) => {
                info!(%label, reason = %e, "resuming from the moved checkpoint");
                pauses.min_backoff
            }
            Err(e) => {
                warn!(%label, error = %e, "failed; retrying from the committed checkpoint");
                lock(worker.slot()).last_error = Some(e.to_string());
                let pause = backoff;
                backoff = (backoff * 2).min(pauses.max_backoff);
                pause
            }
        };
        lock(worker.slot()).leader = false;
        let shutdown = worker.shutdown();
        let stop = tokio::select! {
            _ = tokio::time::sleep(pause) => *shutdown.borrow(),
            stop = shutdown.changed() => stop.is_err() || *shutdown.borrow(),
        };
        if stop {
            break;
        }
    }
    lock(worker.slot()).leader = false;
    info!(%label, "stopped");
}
