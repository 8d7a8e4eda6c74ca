//! Appending: group commit behind one global lock.
//!
//! Every append in the system takes `pg_advisory_xact_lock(APPEND_LOCK)` in its
//! transaction and assigns positions `max(position) + 1 ..` under it. Because
//! Postgres releases a transaction's locks only after the transaction is
//! visible to others, position `p + 1` can never become visible before `p`:
//! readers see a gapless prefix of the log at every instant.
//!
//! Serializing commits would cap throughput at one commit (one WAL flush) at a
//! time, so one appender task per process drains every waiting append into a
//! single transaction: many writers, one flush. Each request keeps its own
//! expected-version check; a conflict fails that request only.
//!
//! After a commit the appender hands the committed events to this process's
//! tail ([`super::tail`]) before it answers the callers, so they reach the
//! gateway and the projections without being read back. Its NOTIFY names
//! the store that wrote it, so that tail does not read them again either.

use std::sync::Arc;

use sqlx::{Executor, PgConnection, PgPool};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, warn};
use uuid::Uuid;

use super::keys::Keys;
use super::placement::Facts;
use super::script::{self, Inserts};
use crate::sealing::Sealer;
use crate::{AppendResult, ExpectedVersion, NewEvent, RecordedEvent, Result, StoreError, chain};

/// Events one appender transaction committed, in position order.
pub(crate) type Committed = Arc<Vec<RecordedEvent>>;

/// Where the appender sends what it committed, and the id its NOTIFYs carry.
#[derive(Clone)]
pub(crate) struct Local {
    pub origin: Uuid,
    pub committed: broadcast::Sender<Committed>,
    /// Seals personal data; `None` stores events as they are.
    pub sealer: Option<Sealer>,
}

/// The advisory lock key that serializes appends across every process
/// sharing the database ("chat-evt" in ASCII).
pub const APPEND_LOCK: i64 = 0x6368_6174_2d65_7674;

/// One stream's append inside a batch.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

pub(crate) struct Pending {
    pub req: AppendRequest,
    pub reply: oneshot::Sender<Result<AppendResult>>,
}

/// The appender task: takes whatever is queued (up to `max_batch_events`),
/// commits it as one transaction and answers each caller.
pub(crate) async fn run_appender(
    pool: PgPool,
    mut rx: mpsc::Receiver<Pending>,
    max_events: usize,
    local: Local,
) {
    while let Some(first) = rx.recv().await {
        let mut count = first.req.events.len();
        let mut batch = vec![first];
        while count < max_events {
            match rx.try_recv() {
                Ok(p) => {
                    count += p.req.events.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        process_batch(&pool, batch, &local).await;
    }
    debug!("appender stopped: every store handle was dropped");
}

async fn process_batch(pool: &PgPool, batch: Vec<Pending>, local: &Local) {
    let (reqs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.req, p.reply)).unzip();
    match commit(pool, &reqs, local).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) if reqs.len() > 1 => {
            // Something failed the whole transaction. Isolate the culprit by
            // retrying each request on its own, so one bad append cannot fail
            // its innocent neighbours.
            warn!(error = %e, size = reqs.len(), "batched append failed; retrying one by one");
            for (req, reply) in reqs.into_iter().zip(replies) {
                let result = match commit(pool, std::slice::from_ref(&req), local).await {
                    Ok(mut r) => r.pop().unwrap_or(Err(StoreError::ShuttingDown)),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

async fn commit(
    pool: &PgPool,
    reqs: &[AppendRequest],
    local: &Local,
) -> Result<Vec<Result<AppendResult>>> {
    let mut conn = pool.acquire().await?;
    let (results, recorded_at) = match run(&mut conn, reqs, Some(local), true).await {
        Ok(done) => done,
        Err(e) => {
            // A connection whose transaction state is unknown is closed,
            // never handed back to the pool.
            if conn.execute("ROLLBACK").await.is_err() {
                conn.close_on_drop();
            }
            return Err(e);
        }
    };
    if let Some(recorded_at) = recorded_at {
        // No receiver (no tail yet) is fine: it reads the log when it starts.
        let _ = local
            .committed
            .send(Arc::new(committed(reqs, &results, recorded_at)));
    }
    Ok(results)
}

/// The events `reqs` wrote, as a reader of the log would get them.
fn committed(
    reqs: &[AppendRequest],
    results: &[Result<AppendResult>],
    recorded_at: OffsetDateTime,
) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    for (req, result) in reqs.iter().zip(results) {
        let Ok(r) = result else { continue };
        if r.already_appended {
            continue;
        }
        for (i, e) in req.events.iter().enumerate() {
            out.push(RecordedEvent {
                position: r.first_position + i as u64,
                event_id: e.event_id,
                stream: req.stream.clone(),
                version: r.first_version + i as u64,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                subject: e.subject,
                occurred_at: chain::to_micros(e.occurred_at),
                recorded_at,
                payload: e.payload.clone(),
                metadata: e.metadata.clone(),
            });
        }
    }
    out.sort_by_key(|e| e.position);
    out
}

/// Append `reqs` inside the caller's transaction. Takes the global append
/// lock, which stays held until the caller commits or rolls back: keep the
/// transaction short. Outer `Err` means the transaction is unusable; inner
/// results are per request (conflicts, idempotent replays).
///
/// Round trips: the lock with the read of everything the checks need, then
/// the insert with its NOTIFY ([`script`]).
/// Events are stored as they are: nothing is sealed.
pub async fn append_within(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
) -> Result<Vec<Result<AppendResult>>> {
    Ok(run(conn, reqs, None, false).await?.0)
}

/// The append proper; `own` says the appender owns the transaction (and so
/// begins and commits it): `BEGIN`, the lock and the pre-read in one round
/// trip, then the rows, the NOTIFY and `COMMIT` in another. Also answers
/// the transaction's `now()` (the rows' `recorded_at`) when it wrote
/// anything.
async fn run(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
    local: Option<&Local>,
    own: bool,
) -> Result<(Vec<Result<AppendResult>>, Option<OffsetDateTime>)> {
    let facts_sql = script::facts(reqs, own)?;
    let rows = conn.fetch_all(facts_sql.as_str()).await?;
    let mut facts = Facts::from_rows(&rows)?;
    let sealer = local.and_then(|l| l.sealer.clone());
    let mut inserts = Inserts::new(Keys::new(sealer, std::mem::take(&mut facts.keys)));
    let results = facts.place_all(reqs, &mut inserts);
    if inserts.is_empty() {
        if own {
            conn.execute("COMMIT").await?;
        }
        return Ok((results, None));
    }
    conn.execute(
        inserts
            .script(facts.head, local.map(|l| l.origin), own)?
            .as_str(),
    )
    .await?;
    Ok((results, Some(facts.now)))
}

/// Stream names are `category-id`: non-empty, printable, bounded.
pub fn valid_stream(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic())
}
