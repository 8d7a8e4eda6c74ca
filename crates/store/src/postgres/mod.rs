//! The Postgres event store.
//!
//! * appends go through one batching appender task per process
//!   ([`append`]), serialized across processes by an advisory lock;
//! * reads are plain indexed queries;
//! * subscriptions ([`subscribe`]) tail `position > last`, woken by
//!   LISTEN/NOTIFY and by a poll timer, so a lost notification only delays.

pub mod append;
mod keys;
mod placement;
mod script;
pub mod setup;
pub mod subscribe;
mod tail;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use crate::sealing::{self, Sealer};
use crate::{
    AppendResult, Direction, EventStore, EventStream, ExpectedVersion, Metadata, NewEvent,
    RecordedEvent, Result, StoreError, StreamHead, Upcasters,
};

pub use append::AppendRequest;
pub use keys::rewrap_keys;
pub use setup::{connect, connect_reads, ensure_database, migrate};

/// NOTIFY channel carrying the newest committed position after each append.
pub const NOTIFY_CHANNEL: &str = "chat_events";

/// Tuning knobs of the Postgres store.
#[derive(Debug, Clone)]
pub struct PgStoreConfig {
    /// Most events one appender transaction packs together.
    pub max_batch_events: usize,
    /// How often subscribers look for new events when no notification came.
    pub poll_interval: Duration,
    /// Events fetched per read while catching up.
    pub read_page: usize,
    /// Buffered events per subscription before it waits for its consumer.
    pub subscription_buffer: usize,
    /// LISTEN for append notifications. Off, subscribers only poll: slower
    /// to wake, equally correct (tests use this to prove it).
    pub listen: bool,
    /// Seals the personal data of events under keys in `event_keys`
    /// (`crate::sealing`) and opens it again on reads. `None` stores new
    /// events as they are (unerasable; benchmarks compare) and reads sealed
    /// ones blank, as after an erasure. The binary always sets it.
    pub sealer: Option<Sealer>,
}

impl Default for PgStoreConfig {
    fn default() -> Self {
        Self {
            max_batch_events: 2_000,
            poll_interval: Duration::from_millis(500),
            read_page: 500,
            subscription_buffer: 1_024,
            listen: true,
            sealer: None,
        }
    }
}

struct Inner {
    pool: PgPool,
    upcasters: Upcasters,
    config: PgStoreConfig,
    appender: mpsc::Sender<append::Pending>,
    /// The process's one tail of the log, which every subscription follows.
    fanout: tail::Fanout,
}

/// The Postgres [`EventStore`]. Cheap to clone; clones share one appender,
/// one LISTEN connection and one tail of the log.
#[derive(Clone)]
pub struct PgEventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEventStore").finish_non_exhaustive()
    }
}

impl PgEventStore {
    /// Start the store's background tasks (appender, listener) on `pool`.
    /// The schema must already be migrated ([`migrate`]).
    pub fn new(pool: PgPool, upcasters: Upcasters, config: PgStoreConfig) -> Self {
        let origin = Uuid::now_v7();
        let (tx, rx) = mpsc::channel(4 * config.max_batch_events.max(64));
        let (committed, committed_rx) = broadcast::channel(1_024);
        tokio::spawn(append::run_appender(
            pool.clone(),
            rx,
            config.max_batch_events,
            append::Local {
                origin,
                committed,
                sealer: config.sealer.clone(),
            },
        ));
        let notified = if config.listen {
            subscribe::spawn_listener(pool.clone(), origin)
        } else {
            subscribe::never_notified()
        };
        let (events, published, fanout) = tail::channels();
        let (poll, page) = (config.poll_interval, config.read_page.max(1));
        let inner = Arc::new(Inner {
            pool,
            upcasters,
            config,
            appender: tx,
            fanout,
        });
        tokio::spawn(
            tail::Tail {
                store: Arc::downgrade(&inner),
                committed: committed_rx,
                notified,
                events,
                published,
                poll,
                page,
            }
            .run(),
        );
        Self { inner }
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// What seals personal data in this store's events, if anything.
    pub fn sealer(&self) -> Option<&Sealer> {
        self.inner.config.sealer.as_ref()
    }

    /// Append several streams' events in one transaction, each request with
    /// its own expected version; one result per request.
    pub async fn append_many(&self, requests: Vec<AppendRequest>) -> Vec<Result<AppendResult>> {
        let mut waits = Vec::with_capacity(requests.len());
        for mut req in requests {
            // A message's own key is made and its text sealed here, on the
            // caller's task, so the one appender does not do it for all.
            if let Some(sealer) = &self.inner.config.sealer
                && let Err(e) = req.events.iter_mut().try_for_each(|e| sealer.preseal(e))
            {
                waits.push(Err(e));
                continue;
            }
            let (reply, rx) = oneshot::channel();
            let sent = self
                .inner
                .appender
                .send(append::Pending { req, reply })
                .await;
            waits.push(sent.map(|_| rx).map_err(|_| StoreError::ShuttingDown));
        }
        let mut out = Vec::with_capacity(waits.len());
        for w in waits {
            out.push(match w {
                Ok(rx) => rx.await.unwrap_or(Err(StoreError::ShuttingDown)),
                Err(e) => Err(e),
            });
        }
        out
    }

    fn decode_row(&self, row: &PgRow) -> Result<RecordedEvent> {
        let event_type: String = row.try_get("event_type")?;
        let stored_version: i32 = row.try_get("schema_version")?;
        let event_id: Uuid = row.try_get("event_id")?;
        let subject: Option<Uuid> = row.try_get("subject")?;
        let payload = self.open(
            (event_id, subject),
            row.try_get("payload")?,
            row.try_get("data_key")?,
        )?;
        let metadata: serde_json::Value = row.try_get("metadata")?;
        let (schema_version, payload) =
            self.inner
                .upcasters
                .upcast(&event_type, stored_version as u16, payload);
        let position = row.try_get::<i64, _>("position")? as u64;
        let metadata: Metadata =
            serde_json::from_value(metadata).map_err(|e| StoreError::Decode {
                event_type: event_type.clone(),
                schema_version,
                position,
                message: format!("metadata: {e}"),
            })?;
        Ok(RecordedEvent {
            position,
            event_id,
            stream: row.try_get("stream")?,
            version: row.try_get::<i64, _>("version")? as u64,
            event_type,
            schema_version,
            subject,
            occurred_at: row.try_get("occurred_at")?,
            recorded_at: row.try_get("recorded_at")?,
            payload,
            metadata,
        })
    }

    /// The payload as readers get it: sealed data opened while its key
    /// (`wrapped`, read with the row) exists, blank once it was destroyed.
    fn open(
        &self,
        (event_id, subject): (Uuid, Option<Uuid>),
        stored: serde_json::Value,
        wrapped: Option<Vec<u8>>,
    ) -> Result<serde_json::Value> {
        let Some(key_id) = sealing::sealed_key(&stored, subject) else {
            return Ok(stored);
        };
        // Without the master key (audit tools, tests) a reader sees what
        // is not personal, exactly as after an erasure.
        let key = match (wrapped, &self.inner.config.sealer) {
            (Some(wrapped), Some(sealer)) => Some(sealer.unwrap(key_id, &wrapped)?),
            _ => None,
        };
        sealing::open_payload(key.as_ref(), event_id, stored)
    }

    fn decode_rows(&self, rows: Vec<PgRow>) -> Result<Vec<RecordedEvent>> {
        rows.iter().map(|r| self.decode_row(r)).collect()
    }
}

/// The key of a sealed event rides with it: one lookup by primary key,
/// and a destroyed key reads as `NULL` at once on every node.
const COLUMNS: &str = "position, event_id, stream, version, event_type, schema_version, \
                       subject, payload, metadata, occurred_at, recorded_at, \
                       (SELECT wrapped FROM event_keys \
                         WHERE key_id = coalesce((payload->'$sealed'->>'key')::uuid, subject) \
                           AND payload ? '$sealed') AS data_key";

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        let req = AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
        };
        let mut results = self.append_many(vec![req]).await;
        results.pop().unwrap_or(Err(StoreError::ShuttingDown))
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let sql = match direction {
            Direction::Forward => format!(
                "SELECT {COLUMNS} FROM events WHERE stream = $1 AND version >= $2 \
                 ORDER BY version LIMIT $3"
            ),
            Direction::Backward => format!(
                "SELECT {COLUMNS} FROM events WHERE stream = $1 AND version <= $2 \
                 ORDER BY version DESC LIMIT $3"
            ),
        };
        let from = i64::try_from(from_version).unwrap_or(i64::MAX);
        let rows = sqlx::query(&sql)
            .bind(stream)
            .bind(from)
            .bind(limit_i64(limit))
            .fetch_all(&self.inner.pool)
            .await?;
        self.decode_rows(rows)
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after_position as i64)
        .bind(limit_i64(limit))
        .fetch_all(&self.inner.pool)
        .await?;
        self.decode_rows(rows)
    }

    async fn read_subject(&self, stream: &str, subject: Uuid) -> Result<Vec<RecordedEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE stream = $1 AND subject = $2 ORDER BY version"
        ))
        .bind(stream)
        .bind(subject)
        .fetch_all(&self.inner.pool)
        .await?;
        self.decode_rows(rows)
    }

    /// Each stream through the `(stream, position)` index, at most `limit`
    /// per stream, merged by position.
    async fn read_streams(
        &self,
        streams: &[String],
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let rows = sqlx::query(&format!(
            "SELECT e.* FROM unnest($1::text[]) AS s(name) \
             CROSS JOIN LATERAL ( \
                 SELECT {COLUMNS} FROM events \
                 WHERE stream = s.name AND position > $2 AND position <= $3 \
                 ORDER BY position LIMIT $4) AS e \
             ORDER BY e.position LIMIT $4"
        ))
        .bind(streams)
        .bind(big(after))
        .bind(big(upto))
        .bind(limit)
        .fetch_all(&self.inner.pool)
        .await?;
        self.decode_rows(rows)
    }

    async fn stream_head(&self, stream: &str) -> Result<Option<StreamHead>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT version, position FROM events WHERE stream = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(stream)
        .fetch_optional(&self.inner.pool)
        .await?;
        Ok(row.map(|(v, p)| StreamHead {
            version: v as u64,
            position: p as u64,
        }))
    }

    async fn head_position(&self) -> Result<u64> {
        let (p,): (i64,) = sqlx::query_as("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(&self.inner.pool)
            .await?;
        Ok(p as u64)
    }

    fn subscribe(&self, after_position: u64) -> EventStream {
        subscribe::subscription(self.clone(), after_position)
    }
}
