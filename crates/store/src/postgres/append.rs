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

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use sqlx::Row;
use sqlx::types::Json;
use sqlx::{Executor, PgConnection, PgPool};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, warn};
use uuid::Uuid;

use super::NOTIFY_CHANNEL;
use crate::{AppendResult, ExpectedVersion, NewEvent, RecordedEvent, Result, StoreError, chain};

/// Events one appender transaction committed, in position order.
pub(crate) type Committed = Arc<Vec<RecordedEvent>>;

/// Where the appender sends what it committed, and the id its NOTIFYs carry.
#[derive(Clone)]
pub(crate) struct Local {
    pub origin: Uuid,
    pub committed: broadcast::Sender<Committed>,
}

/// The advisory lock key that serializes appends across every process
/// sharing the database ("chat-evt" in ASCII).
pub const APPEND_LOCK: i64 = 0x6368_6174_2d65_7674;

/// The appender's transaction start: `BEGIN` and the lock as one script.
static BEGIN_AND_LOCK: LazyLock<String> =
    LazyLock::new(|| format!("BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK})"));

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
    let (results, recorded_at) = match in_transaction(&mut conn, reqs, local.origin).await {
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

/// `BEGIN` and the lock in one round trip (the simple protocol runs both),
/// then the append and `COMMIT`.
async fn in_transaction(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
    origin: Uuid,
) -> Result<(Vec<Result<AppendResult>>, Option<OffsetDateTime>)> {
    conn.execute(BEGIN_AND_LOCK.as_str()).await?;
    let done = append_locked(&mut *conn, reqs, Some(origin)).await?;
    conn.execute("COMMIT").await?;
    Ok(done)
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

/// `(kind, stream, event id, version or head, position, last hash)` of the pre-read.
type FactRow = (i16, Option<String>, Option<Uuid>, i64, i64, Option<Vec<u8>>);

/// A stream's newest version and the hash its next event chains onto.
#[derive(Clone, Copy)]
struct StreamTip {
    version: u64,
    hash: [u8; 32],
}

/// Where an already stored (or already batched) event sits.
#[derive(Clone)]
struct Placed {
    stream: String,
    version: u64,
    position: u64,
}

/// Append `reqs` inside the caller's transaction. Takes the global append
/// lock, which stays held until the caller commits or rolls back: keep the
/// transaction short. Outer `Err` means the transaction is unusable; inner
/// results are per request (conflicts, idempotent replays).
///
/// Round trips: the lock, one read of everything the checks need, one
/// insert that also notifies. The lock must be its own statement: a read in
/// the same statement would use a snapshot taken before the lock was granted
/// and miss the previous holder's commit.
pub async fn append_within(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
) -> Result<Vec<Result<AppendResult>>> {
    Ok(append_staged(conn, reqs, None).await?.0)
}

/// [`append_within`], notifying as `origin`; also answers the transaction's
/// `now()` (the events' `recorded_at`) when it wrote anything.
async fn append_staged(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
    origin: Option<Uuid>,
) -> Result<(Vec<Result<AppendResult>>, Option<OffsetDateTime>)> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    append_locked(conn, reqs, origin).await
}

/// The append proper, once the transaction holds the lock.
async fn append_locked(
    conn: &mut PgConnection,
    reqs: &[AppendRequest],
    origin: Option<Uuid>,
) -> Result<(Vec<Result<AppendResult>>, Option<OffsetDateTime>)> {
    let ids: Vec<Uuid> = reqs
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.event_id))
        .collect();
    let mut streams: Vec<&str> = reqs.iter().map(|r| r.stream.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    // Subjects the batch would create, to find any already in their stream.
    let (mut subject_streams, mut subjects) = (Vec::new(), Vec::new());
    for r in reqs {
        for e in r.events.iter().filter(|e| e.creates_subject) {
            if let Some(subject) = e.subject {
                subject_streams.push(r.stream.as_str());
                subjects.push(subject);
            }
        }
    }

    // kind 0: the log head; 1: a stream's version; 2: an event id already
    // stored; 3: the first event about a subject the batch would create.
    let facts: Vec<FactRow> = sqlx::query_as(
        "SELECT 0::int2, NULL::text, NULL::uuid, coalesce(max(position), 0), 0::int8, NULL::bytea FROM events \
         UNION ALL \
         SELECT 1::int2, s, NULL::uuid, coalesce(last.version, 0), 0::int8, last.hash \
           FROM unnest($1::text[]) AS s \
           LEFT JOIN LATERAL (SELECT version, hash FROM events WHERE stream = s \
                              ORDER BY version DESC LIMIT 1) last ON true \
         UNION ALL \
         SELECT 2::int2, stream, event_id, version, position, NULL::bytea FROM events WHERE event_id = ANY($2) \
         UNION ALL \
         SELECT 3::int2, q.stream, q.subject, first.version, first.position, NULL::bytea \
           FROM unnest($3::text[], $4::uuid[]) AS q(stream, subject) \
           JOIN LATERAL (SELECT version, position FROM events \
                          WHERE stream = q.stream AND subject = q.subject \
                          ORDER BY version LIMIT 1) first ON true",
    )
    .bind(&streams)
    .bind(&ids)
    .bind(&subject_streams)
    .bind(&subjects)
    .fetch_all(&mut *conn)
    .await?;

    let mut head = 0u64;
    let mut versions: HashMap<String, StreamTip> = HashMap::with_capacity(streams.len());
    let mut placed: HashMap<Uuid, Placed> = HashMap::new();
    let mut taken: HashMap<(String, Uuid), Placed> = HashMap::new();
    for (kind, stream, id, a, b, hash) in facts {
        match (kind, stream, id) {
            (0, _, _) => head = a as u64,
            (1, Some(s), _) => {
                let hash = hash
                    .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
                    .unwrap_or(chain::GENESIS);
                versions.insert(
                    s,
                    StreamTip {
                        version: a as u64,
                        hash,
                    },
                );
            }
            (3, Some(stream), Some(subject)) => {
                taken.insert(
                    (stream.clone(), subject),
                    Placed {
                        stream,
                        version: a as u64,
                        position: b as u64,
                    },
                );
            }
            (2, Some(stream), Some(id)) => {
                placed.insert(
                    id,
                    Placed {
                        stream,
                        version: a as u64,
                        position: b as u64,
                    },
                );
            }
            _ => {}
        }
    }

    let mut rows = Rows::default();
    let results = reqs
        .iter()
        .map(|req| {
            let known = Known {
                placed: &mut placed,
                taken: &mut taken,
                versions: &mut versions,
            };
            place(req, known, &mut head, &mut rows)
        })
        .collect();
    let recorded_at = if rows.position.is_empty() {
        None
    } else {
        Some(rows.insert_and_notify(&mut *conn, head, origin).await?)
    };
    Ok((results, recorded_at))
}

/// Decide one request's fate against the state as of the earlier requests of
/// the same batch, and stage its rows.
/// What the batch knows of the store as of the requests placed before.
struct Known<'a> {
    placed: &'a mut HashMap<Uuid, Placed>,
    taken: &'a mut HashMap<(String, Uuid), Placed>,
    versions: &'a mut HashMap<String, StreamTip>,
}

fn place(
    req: &AppendRequest,
    known: Known<'_>,
    head: &mut u64,
    rows: &mut Rows,
) -> Result<AppendResult> {
    let Known {
        placed,
        taken,
        versions,
    } = known;
    if req.events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if !valid_stream(&req.stream) {
        return Err(StoreError::InvalidStream(req.stream.clone()));
    }
    let known: Vec<Option<&Placed>> = req.events.iter().map(|e| placed.get(&e.event_id)).collect();
    if known.iter().any(Option::is_some) {
        return replayed(req, &known);
    }
    let mut unique: Vec<Uuid> = req.events.iter().map(|e| e.event_id).collect();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != req.events.len() {
        return Err(StoreError::IdempotencyMismatch);
    }

    for e in req.events.iter().filter(|e| e.creates_subject) {
        if let Some(first) = e
            .subject
            .and_then(|sub| taken.get(&(req.stream.clone(), sub)))
        {
            return Err(StoreError::SubjectTaken {
                stream: req.stream.clone(),
                subject: e.subject.unwrap_or_default(),
                version: first.version,
                position: first.position,
            });
        }
    }
    let tip = versions.get(&req.stream).copied().unwrap_or(StreamTip {
        version: 0,
        hash: chain::GENESIS,
    });
    let current = tip.version;
    if !req.expected.matches(current) {
        return Err(StoreError::WrongExpectedVersion {
            stream: req.stream.clone(),
            expected: req.expected,
            actual: current,
        });
    }
    let first_position = *head + 1;
    let mut prev = tip.hash;
    for (i, e) in req.events.iter().enumerate() {
        let version = current + 1 + i as u64;
        let position = first_position + i as u64;
        prev = rows.push(&req.stream, version, position, e, &prev)?;
        if let (true, Some(subject)) = (e.creates_subject, e.subject) {
            taken.insert(
                (req.stream.clone(), subject),
                Placed {
                    stream: req.stream.clone(),
                    version,
                    position,
                },
            );
        }
        placed.insert(
            e.event_id,
            Placed {
                stream: req.stream.clone(),
                version,
                position,
            },
        );
    }
    let n = req.events.len() as u64;
    *head += n;
    versions.insert(
        req.stream.clone(),
        StreamTip {
            version: current + n,
            hash: prev,
        },
    );
    Ok(AppendResult {
        stream: req.stream.clone(),
        first_version: current + 1,
        last_version: current + n,
        first_position,
        last_position: *head,
        already_appended: false,
    })
}

/// Every id known, in this stream, in this order: the original result.
/// Anything else reuses ids for a different append.
fn replayed(req: &AppendRequest, known: &[Option<&Placed>]) -> Result<AppendResult> {
    let all: Option<Vec<&Placed>> = known.iter().copied().collect();
    let all = all.ok_or(StoreError::IdempotencyMismatch)?;
    let consecutive = all.windows(2).all(|w| w[1].version == w[0].version + 1);
    if !consecutive || all.iter().any(|p| p.stream != req.stream) {
        return Err(StoreError::IdempotencyMismatch);
    }
    let (first, last) = (all[0], all[all.len() - 1]);
    Ok(AppendResult {
        stream: req.stream.clone(),
        first_version: first.version,
        last_version: last.version,
        first_position: first.position,
        last_position: last.position,
        already_appended: true,
    })
}

/// Stream names are `category-id`: non-empty, printable, bounded.
pub fn valid_stream(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic())
}

/// Column arrays for one multi-row `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct Rows {
    position: Vec<i64>,
    event_id: Vec<Uuid>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_type: Vec<String>,
    schema_version: Vec<i32>,
    subject: Vec<Option<Uuid>>,
    payload: Vec<Json<serde_json::Value>>,
    metadata: Vec<Json<crate::Metadata>>,
    occurred_at: Vec<OffsetDateTime>,
    hash: Vec<Vec<u8>>,
}

impl Rows {
    /// Stage one event; returns its chain hash.
    fn push(
        &mut self,
        stream: &str,
        version: u64,
        position: u64,
        e: &NewEvent,
        prev: &[u8; 32],
    ) -> Result<[u8; 32]> {
        let occurred_at = chain::to_micros(e.occurred_at);
        let metadata =
            serde_json::to_value(&e.metadata).map_err(|err| StoreError::Encode(err.to_string()))?;
        let hash = chain::hash(
            prev,
            &chain::Envelope {
                event_id: e.event_id,
                stream,
                version,
                event_type: &e.event_type,
                schema_version: e.schema_version,
                occurred_at,
                payload: &e.payload,
                metadata: &metadata,
            },
        );
        self.hash.push(hash.to_vec());
        self.position.push(position as i64);
        self.event_id.push(e.event_id);
        self.stream.push(stream.to_owned());
        self.version.push(version as i64);
        self.event_type.push(e.event_type.clone());
        self.schema_version.push(i32::from(e.schema_version));
        self.subject.push(e.subject);
        self.payload.push(Json(e.payload.clone()));
        self.metadata.push(Json(e.metadata.clone()));
        self.occurred_at.push(occurred_at);
        Ok(hash)
    }

    /// One statement: the rows, then a NOTIFY carrying the new head and the
    /// writing store's id (sent by Postgres only when the transaction
    /// commits). Answers the transaction's `now()`, the rows' `recorded_at`.
    async fn insert_and_notify(
        self,
        conn: &mut PgConnection,
        head: u64,
        origin: Option<Uuid>,
    ) -> Result<OffsetDateTime> {
        let row = sqlx::query(
            "WITH ins AS ( \
               INSERT INTO events (position, event_id, stream, version, event_type, schema_version, \
                                   subject, payload, metadata, occurred_at, hash) \
               SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], \
                                    $6::int[], $7::uuid[], $8::jsonb[], $9::jsonb[], $10::timestamptz[], \
                                    $11::bytea[]) \
               RETURNING 1) \
             SELECT pg_notify($12, $13), now() FROM (SELECT count(*) FROM ins) AS done",
        )
        .bind(self.position)
        .bind(self.event_id)
        .bind(self.stream)
        .bind(self.version)
        .bind(self.event_type)
        .bind(self.schema_version)
        .bind(self.subject)
        .bind(self.payload)
        .bind(self.metadata)
        .bind(self.occurred_at)
        .bind(self.hash)
        .bind(NOTIFY_CHANNEL)
        .bind(super::subscribe::notification(head, origin))
        .fetch_one(conn)
        .await?;
        Ok(row.try_get(1)?)
    }
}
