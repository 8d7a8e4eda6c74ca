//! The EventStoreDB/KurrentDB event store (feature `kurrentdb`).
//!
//! Built on the official gRPC client (`kurrentdb` crate). The mapping, and
//! what this store does not offer compared with the Postgres one, is written
//! down in `docs/decisions/0006-kurrentdb-backend.md`. In short:
//!
//! * **versions**: KurrentDB stream revisions are 0-based; our version is
//!   `revision + 1` (so `Exact(0)` and `NoStream` both mean "no event yet");
//! * **positions**: the global position is the event's *commit* position in
//!   `$all`: strictly increasing, not contiguous. System streams (`$`-prefixed)
//!   are invisible to every read and subscription;
//! * **envelope**: the payload is the event's JSON data; `schema_version`,
//!   `subject`, `occurred_at` and our [`Metadata`] travel in the event's custom
//!   metadata (JSON); `recorded_at` is the server's `created` time;
//! * **idempotency**: the server deduplicates a retried append of the same
//!   ids; this store turns that, or the conflict a retry meets once the stream
//!   moved on, back into the original [`AppendResult`] by reading the events at
//!   the revisions the append targeted and comparing ids;
//! * **subjects**: no secondary index: [`EventStore::read_subject`] scans the
//!   stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, CurrentRevision, EventData, Position,
    ReadAllOptions, ReadStreamOptions, StreamPosition, StreamState, SubscribeToAllOptions,
    SubscriptionFilter,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tracing::warn;
use uuid::Uuid;

use crate::postgres::append::valid_stream;
use crate::{
    AppendResult, Direction, EventStore, EventStream, ExpectedVersion, Metadata, NewEvent,
    RecordedEvent, Result, StoreError, StreamHead, Upcasters,
};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Tuning knobs of the KurrentDB store.
#[derive(Debug, Clone)]
pub struct KurrentStoreConfig {
    /// Events fetched per read when scanning a stream or `$all`.
    pub read_page: usize,
    /// Buffered events per subscription before it waits for its consumer.
    pub subscription_buffer: usize,
}

impl Default for KurrentStoreConfig {
    fn default() -> Self {
        Self {
            read_page: 500,
            subscription_buffer: 1_024,
        }
    }
}

struct Inner {
    client: Client,
    upcasters: Upcasters,
    config: KurrentStoreConfig,
}

/// The KurrentDB [`EventStore`]. Cheap to clone; clones share one gRPC client.
#[derive(Clone)]
pub struct KurrentEventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KurrentEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentEventStore").finish_non_exhaustive()
    }
}

/// What our envelope carries besides the payload, stored as the event's
/// custom metadata.
#[derive(Debug, Serialize, Deserialize)]
struct Extras {
    schema_version: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    occurred_at: Option<OffsetDateTime>,
    #[serde(default)]
    metadata: Metadata,
}

fn remote(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Remote(Arc::new(e))
}

/// Only user streams: system streams start with `$`.
fn user_streams() -> SubscriptionFilter {
    SubscriptionFilter::on_stream_name().regex("^[^$]")
}

fn is_system(e: &kurrentdb::RecordedEvent) -> bool {
    e.stream_id().starts_with('$') || e.event_type.starts_with('$')
}

/// A `$all` position from one of ours. Events written through the gRPC API
/// have `commit == prepare`, so the commit position alone locates them.
fn all_position(p: u64) -> StreamPosition<Position> {
    if p == 0 {
        StreamPosition::Start
    } else {
        StreamPosition::Position(Position {
            commit: p,
            prepare: p,
        })
    }
}

/// Our version after the stream's current revision.
fn version_of(current: CurrentRevision) -> u64 {
    match current {
        CurrentRevision::Current(r) => r + 1,
        CurrentRevision::NoStream => 0,
    }
}

impl KurrentEventStore {
    /// A store on `url` (e.g. `kurrentdb://admin:changeit@localhost:2113?tls=false`).
    /// The connection is lazy; [`KurrentEventStore::connect`] also checks the
    /// server answers. Must run inside a tokio runtime.
    pub fn new(url: &str, upcasters: Upcasters, config: KurrentStoreConfig) -> Result<Self> {
        let settings: ClientSettings = url.parse().map_err(remote)?;
        let client = Client::new(settings)
            .map_err(|e| StoreError::Remote(Arc::new(std::io::Error::other(e.to_string()))))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                upcasters,
                config,
            }),
        })
    }

    /// [`KurrentEventStore::new`], then one read of `$all` so a wrong URL or
    /// an unreachable server fails here instead of on the first command.
    pub async fn connect(url: &str, upcasters: Upcasters) -> Result<Self> {
        let store = Self::new(url, upcasters, KurrentStoreConfig::default())?;
        store.head_position().await?;
        Ok(store)
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn encode(e: &NewEvent) -> Result<EventData> {
        let extras = Extras {
            schema_version: e.schema_version,
            subject: e.subject,
            occurred_at: Some(e.occurred_at),
            metadata: e.metadata.clone(),
        };
        EventData::json(e.event_type.as_str(), &e.payload)
            .and_then(|d| d.id(e.event_id).metadata_as_json(&extras))
            .map_err(|err| StoreError::Encode(err.to_string()))
    }

    fn decode(&self, e: &kurrentdb::RecordedEvent) -> Result<RecordedEvent> {
        let position = e.position.commit;
        let fail = |schema_version: u16, message: String| StoreError::Decode {
            event_type: e.event_type.clone(),
            schema_version,
            position,
            message,
        };
        let recorded_at = e
            .created
            .timestamp_nanos_opt()
            .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let extras: Extras = if e.custom_metadata.is_empty() {
            // Written by someone else: no envelope extras.
            Extras {
                schema_version: 1,
                subject: None,
                occurred_at: None,
                metadata: Metadata::default(),
            }
        } else {
            serde_json::from_slice(&e.custom_metadata)
                .map_err(|err| fail(1, format!("metadata: {err}")))?
        };
        let payload: serde_json::Value = serde_json::from_slice(&e.data)
            .map_err(|err| fail(extras.schema_version, format!("payload: {err}")))?;
        let (schema_version, payload) =
            self.inner
                .upcasters
                .upcast(&e.event_type, extras.schema_version, payload);
        Ok(RecordedEvent {
            position,
            event_id: e.id,
            stream: e.stream_id().to_owned(),
            version: e.revision + 1,
            event_type: e.event_type.clone(),
            schema_version,
            subject: extras.subject,
            occurred_at: extras.occurred_at.unwrap_or(recorded_at),
            recorded_at,
            payload,
            metadata: extras.metadata,
        })
    }

    /// Raw events of `stream` from `options`; a missing stream reads as empty.
    async fn read_raw(
        &self,
        stream: &str,
        options: &ReadStreamOptions,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let mut read = match self.inner.client.read_stream(stream, options).await {
            Ok(r) => r,
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(remote(e)),
        };
        let mut out = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(e) = resolved.event {
                        out.push(e);
                    }
                }
                Ok(None) => return Ok(out),
                Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(remote(e)),
            }
        }
    }

    /// Up to `count` raw events of `stream` from 0-based `revision`, forward.
    async fn read_revisions(
        &self,
        stream: &str,
        revision: u64,
        count: usize,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(revision))
            .forwards()
            .max_count(count);
        self.read_raw(stream, &options).await
    }

    /// The events at `first_revision ..` if they are exactly `events`, in
    /// order: where this append landed (`already_appended` as given). Some but
    /// not all of them: the ids were used by a different append. None: `None`.
    async fn locate(
        &self,
        stream: &str,
        first_revision: u64,
        events: &[NewEvent],
        already_appended: bool,
    ) -> Result<Option<AppendResult>> {
        let found = self
            .read_revisions(stream, first_revision, events.len())
            .await?;
        let ids_match = found.len() == events.len()
            && found.iter().zip(events).all(|(f, e)| f.id == e.event_id);
        if ids_match {
            let (first, last) = (&found[0], &found[found.len() - 1]);
            return Ok(Some(AppendResult {
                stream: stream.to_owned(),
                first_version: first.revision + 1,
                last_version: last.revision + 1,
                first_position: first.position.commit,
                last_position: last.position.commit,
                already_appended,
            }));
        }
        if found
            .iter()
            .any(|f| events.iter().any(|e| e.event_id == f.id))
        {
            return Err(StoreError::IdempotencyMismatch);
        }
        Ok(None)
    }

    /// Every stored event of `stream` whose id is one of `events`' ids.
    async fn scan_for_ids(
        &self,
        stream: &str,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>> {
        let page = self.inner.config.read_page.max(1);
        let mut revision = 0u64;
        let mut hits: Vec<kurrentdb::RecordedEvent> = Vec::new();
        loop {
            let batch = self.read_revisions(stream, revision, page).await?;
            let n = batch.len();
            for e in batch {
                revision = e.revision + 1;
                if events.iter().any(|x| x.event_id == e.id) {
                    hits.push(e);
                }
            }
            if n < page {
                break;
            }
        }
        if hits.is_empty() {
            return Ok(None);
        }
        let first = hits[0].revision;
        self.locate(stream, first, events, true).await
    }

    /// Turn a conflict into the original result when these events are the
    /// ones already stored at the expected revision.
    async fn resolve_conflict(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        current: CurrentRevision,
    ) -> Result<AppendResult> {
        let found = match expected {
            ExpectedVersion::NoStream => self.locate(stream, 0, events, true).await?,
            ExpectedVersion::Exact(v) => self.locate(stream, v, events, true).await?,
            // The server refuses an `Any` append whose first id it knows but
            // whose other ids do not follow it: find where they are.
            ExpectedVersion::Any => self.scan_for_ids(stream, events).await?,
        };
        match found {
            Some(original) => Ok(original),
            None => Err(StoreError::WrongExpectedVersion {
                stream: stream.to_owned(),
                expected,
                actual: version_of(current),
            }),
        }
    }

    /// One page of `$all` (user streams only) from `from` (inclusive).
    async fn read_all_page(
        &self,
        from: StreamPosition<Position>,
        direction: Direction,
        count: usize,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let options = ReadAllOptions::default().position(from);
        let options = match direction {
            Direction::Forward => options.forwards(),
            Direction::Backward => options.backwards(),
        }
        .max_count(count)
        .filter(user_streams());
        let mut read = self.inner.client.read_all(&options).await.map_err(remote)?;
        let mut out = Vec::new();
        while let Some(resolved) = read.next().await.map_err(remote)? {
            if let Some(e) = resolved.event {
                out.push(e);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl EventStore for KurrentEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if !valid_stream(stream) || stream.starts_with('$') {
            return Err(StoreError::InvalidStream(stream.to_owned()));
        }
        let mut unique: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != events.len() {
            return Err(StoreError::IdempotencyMismatch);
        }
        // KurrentDB cannot check this inside the append: read first. A
        // concurrent creator of the same subject is caught by the expected
        // version the command side always passes.
        for e in events.iter().filter(|e| e.creates_subject) {
            let Some(subject) = e.subject else { continue };
            if let Some(first) = self.read_subject(stream, subject).await?.first() {
                return Err(StoreError::SubjectTaken {
                    stream: stream.to_owned(),
                    subject,
                    version: first.version,
                    position: first.position,
                });
            }
        }
        let state = match expected {
            ExpectedVersion::Any => StreamState::Any,
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => StreamState::NoStream,
            ExpectedVersion::Exact(v) => StreamState::StreamRevision(v - 1),
        };
        let data = events
            .iter()
            .map(Self::encode)
            .collect::<Result<Vec<_>>>()?;
        let options = AppendToStreamOptions::default().stream_state(state);
        match self
            .inner
            .client
            .append_to_stream(stream, &options, data)
            .await
        {
            Ok(written) => {
                // A deduplicated retry is answered without a position.
                let deduplicated = written.position == Position::start();
                let n = events.len() as u64;
                let first_revision = (written.next_expected_version + 1)
                    .checked_sub(n)
                    .ok_or(StoreError::IdempotencyMismatch)?;
                // Read the events back: their positions (the write reports
                // one position for the whole append) and a check that the
                // server stored (or had stored) exactly these ids there.
                self.locate(stream, first_revision, &events, deduplicated)
                    .await?
                    .ok_or(StoreError::IdempotencyMismatch)
            }
            Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                self.resolve_conflict(stream, expected, &events, current)
                    .await
            }
            Err(e) => Err(remote(e)),
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Revisions are i64 on the server; anything past that is "the end".
        let last_revision = i64::MAX as u64;
        let options = match direction {
            Direction::Forward => {
                let revision = from_version.saturating_sub(1);
                if revision > last_revision {
                    return Ok(Vec::new());
                }
                ReadStreamOptions::default()
                    .position(StreamPosition::Position(revision))
                    .forwards()
            }
            Direction::Backward => {
                if from_version == 0 {
                    return Ok(Vec::new());
                }
                let revision = from_version - 1;
                let from = if revision >= last_revision {
                    StreamPosition::End
                } else {
                    StreamPosition::Position(revision)
                };
                ReadStreamOptions::default().position(from).backwards()
            }
        }
        .max_count(limit);
        let raw = self.read_raw(stream, &options).await?;
        raw.iter().map(|e| self.decode(e)).collect()
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let page = limit.clamp(1, self.inner.config.read_page.max(1)) + 1;
        let mut cursor = after_position;
        let mut out = Vec::new();
        while out.len() < limit {
            // Reads from a position include the event at it: skip it.
            let batch = self
                .read_all_page(all_position(cursor), Direction::Forward, page)
                .await?;
            let n = batch.len();
            for e in &batch {
                if e.position.commit <= cursor {
                    continue;
                }
                cursor = e.position.commit;
                if is_system(e) {
                    continue;
                }
                out.push(self.decode(e)?);
                if out.len() == limit {
                    break;
                }
            }
            if n < page {
                break;
            }
        }
        Ok(out)
    }

    async fn read_subject(&self, stream: &str, subject: Uuid) -> Result<Vec<RecordedEvent>> {
        // No secondary index: scan the whole stream (see the module docs).
        let page = self.inner.config.read_page.max(1);
        let mut revision = 0u64;
        let mut out = Vec::new();
        loop {
            let batch = self.read_revisions(stream, revision, page).await?;
            let n = batch.len();
            for e in &batch {
                revision = e.revision + 1;
                let recorded = self.decode(e)?;
                if recorded.subject == Some(subject) {
                    out.push(recorded);
                }
            }
            if n < page {
                return Ok(out);
            }
        }
    }

    async fn stream_head(&self, stream: &str) -> Result<Option<StreamHead>> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::End)
            .backwards()
            .max_count(1);
        let raw = self.read_raw(stream, &options).await?;
        Ok(raw.first().map(|e| StreamHead {
            version: e.revision + 1,
            position: e.position.commit,
        }))
    }

    async fn head_position(&self) -> Result<u64> {
        let newest = self
            .read_all_page(StreamPosition::End, Direction::Backward, 1)
            .await?;
        Ok(newest
            .iter()
            .find(|e| !is_system(e))
            .map_or(0, |e| e.position.commit))
    }

    fn subscribe(&self, after_position: u64) -> EventStream {
        let (tx, rx) = mpsc::channel(self.inner.config.subscription_buffer.max(1));
        tokio::spawn(tail(self.clone(), after_position, tx));
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }
}

/// A catch-up subscription to `$all` after `last`, resubscribing from the
/// last delivered position after any failure (so nothing is skipped or
/// delivered twice), until the receiver is dropped.
async fn tail(store: KurrentEventStore, mut last: u64, tx: mpsc::Sender<Result<RecordedEvent>>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let options = SubscribeToAllOptions::default()
            .position(all_position(last))
            .filter(user_streams());
        let mut sub = store.inner.client.subscribe_to_all(&options).await;
        let failure = loop {
            let next = tokio::select! {
                next = sub.next() => next,
                _ = tx.closed() => return,
            };
            let resolved = match next {
                Ok(r) => r,
                Err(e) => break remote(e),
            };
            let Some(e) = resolved.event.as_ref() else {
                continue;
            };
            // A subscription from a position starts after it; the check
            // also guards a resubscription against redelivery.
            if e.position.commit <= last || is_system(e) {
                continue;
            }
            match store.decode(e) {
                Ok(recorded) => {
                    backoff = Duration::from_millis(100);
                    last = recorded.position;
                    if tx.send(Ok(recorded)).await.is_err() {
                        return;
                    }
                }
                // Like the Postgres store: an undecodable event stops the
                // tail at it (retried, logged) rather than being skipped.
                Err(e) => break e,
            }
        };
        warn!(error = %failure, after = last, "subscription failed; resubscribing");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_round_trip_and_tolerate_missing_fields() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let extras = Extras {
            schema_version: 3,
            subject: Some(Uuid::now_v7()),
            occurred_at: Some(at),
            metadata: Metadata {
                actor: Some(Uuid::now_v7()),
                command_id: Some("c".into()),
                ..Metadata::default()
            },
        };
        let json = serde_json::to_vec(&extras).unwrap();
        let back: Extras = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.schema_version, 3);
        assert_eq!(back.subject, extras.subject);
        assert_eq!(back.occurred_at, Some(at), "nanoseconds survive");
        assert_eq!(back.metadata, extras.metadata);
        let bare: Extras = serde_json::from_slice(br#"{"schema_version":1}"#).unwrap();
        assert_eq!((bare.subject, bare.occurred_at), (None, None));
    }

    #[test]
    fn positions_and_versions_map_onto_kurrent_terms() {
        assert_eq!(all_position(0), StreamPosition::Start);
        assert_eq!(
            all_position(42),
            StreamPosition::Position(Position {
                commit: 42,
                prepare: 42
            })
        );
        assert_eq!(version_of(CurrentRevision::NoStream), 0);
        assert_eq!(version_of(CurrentRevision::Current(0)), 1);
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_and_an_unreachable_server_is_a_transient_error() {
        let err =
            KurrentEventStore::new("not a url", Upcasters::new(), Default::default()).unwrap_err();
        assert!(matches!(err, StoreError::Remote(_)), "{err:?}");
        // Nothing listens on port 1: the probe fails, as a transient error.
        let err = KurrentEventStore::connect(
            "kurrentdb://admin:changeit@127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10&gossipTimeout=500",
            Upcasters::new(),
        )
        .await
        .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }
}
