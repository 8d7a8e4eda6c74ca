//! The bridge between domain events and stored JSON: encoding with the
//! envelope fields the domain knows (type, version, subject), decoding after
//! upcasting, and folding a stream into an aggregate.

use chat_domain::{Aggregate, DomainEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::{Direction, EventStore, Metadata, NewEvent, RecordedEvent, Result, StoreError};

/// Turn a domain event into an event ready to append.
pub fn encode<E: DomainEvent + Serialize>(
    event: &E,
    metadata: &Metadata,
    occurred_at: OffsetDateTime,
) -> Result<NewEvent> {
    let payload = serde_json::to_value(event).map_err(|e| StoreError::Encode(e.to_string()))?;
    let mut new = NewEvent::new(event.event_type(), payload, occurred_at);
    new.schema_version = event.schema_version();
    new.subject = event.subject();
    new.creates_subject = event.creates_subject();
    new.metadata = metadata.clone();
    if let Some((key, redacted)) = event.redacted() {
        let redacted =
            serde_json::to_value(&redacted).map_err(|e| StoreError::Encode(e.to_string()))?;
        new.seal = crate::sealing::Seal::between(key, &new.payload, &redacted);
    }
    new.shreds = event.shreds();
    Ok(new)
}

/// Decode a stored (already upcast) event into its domain type.
pub fn decode<E: DeserializeOwned>(rec: &RecordedEvent) -> Result<E> {
    serde_json::from_value(rec.payload.clone()).map_err(|e| StoreError::Decode {
        event_type: rec.event_type.clone(),
        schema_version: rec.schema_version,
        position: rec.position,
        message: e.to_string(),
    })
}

/// An aggregate folded from its stream, with where the stream stood.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub state: A,
    /// The stream version the state reflects (0 = no events).
    pub version: u64,
    /// The global position of the newest folded event (0 = none).
    pub position: u64,
}

impl<A: Aggregate> Loaded<A> {
    pub fn empty() -> Self {
        Self {
            state: A::default(),
            version: 0,
            position: 0,
        }
    }

    /// Fold further events into the loaded state.
    pub fn apply(&mut self, recs: &[RecordedEvent]) -> Result<()> {
        for rec in recs {
            let event: A::Event = decode(rec)?;
            let state = std::mem::take(&mut self.state);
            self.state = state.evolve(&event);
            self.version = rec.version;
            self.position = rec.position;
        }
        Ok(())
    }
}

/// Page size when folding a stream from the store.
const LOAD_PAGE: usize = 1_000;

/// Fold `stream` from `from` (a cached state, or empty) up to its newest event.
pub async fn load_from<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    mut from: Loaded<A>,
) -> Result<Loaded<A>> {
    loop {
        let page = store
            .read_stream(stream, from.version + 1, Direction::Forward, LOAD_PAGE)
            .await?;
        from.apply(&page)?;
        if page.len() < LOAD_PAGE {
            return Ok(from);
        }
    }
}

/// Fold a whole stream into an aggregate.
pub async fn load<A: Aggregate>(store: &dyn EventStore, stream: &str) -> Result<Loaded<A>> {
    load_from(store, stream, Loaded::empty()).await
}
