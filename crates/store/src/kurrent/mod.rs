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
}

mod lookup;
mod store;
#[cfg(test)]
mod tests;
