//! # chat-audit
//!
//! Owns what auditors see: the global log with full envelopes, one stream's
//! history, an aggregate's state as of a version or a time ("time travel",
//! folded from the events, never from read models) and the hash-chain
//! verification. Served over HTTP to callers with the `auditor` role
//! ([`router`]) and used by the `chat replay` / `chat audit` commands.

mod routes;

use std::sync::Arc;

use chat_domain::{Aggregate, Chat, User};
use chat_store::postgres::PgEventStore;
use chat_store::typed::Loaded;
use chat_store::{Direction, EventStore, RecordedEvent, Result};
use time::OffsetDateTime;

pub use routes::{AuditState, router};

/// Where to stop folding.
#[derive(Debug, Clone, Copy)]
pub enum At {
    Version(u64),
    Time(OffsetDateTime),
    Latest,
}

impl std::str::FromStr for At {
    type Err = String;
    /// A stream version (`42`) or an RFC 3339 time.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if let Ok(v) = s.parse::<u64>() {
            return Ok(At::Version(v));
        }
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(At::Time)
            .map_err(|_| format!("{s:?} is neither a version nor an RFC 3339 time"))
    }
}

/// Fold `stream` up to `at`: every event with version ≤ the version, or
/// recorded at or before the time (the store's clock: `recorded_at`).
pub async fn state_at<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    at: At,
) -> Result<Loaded<A>> {
    let mut loaded = Loaded::<A>::empty();
    loop {
        let page = store
            .read_stream(stream, loaded.version + 1, Direction::Forward, 1_000)
            .await?;
        let n = page.len();
        let keep: Vec<RecordedEvent> = page
            .into_iter()
            .take_while(|e| match at {
                At::Version(v) => e.version <= v,
                At::Time(t) => e.recorded_at <= t,
                At::Latest => true,
            })
            .collect();
        let stopped = keep.len() < n;
        loaded.apply(&keep)?;
        if stopped || n < 1_000 {
            return Ok(loaded);
        }
    }
}

/// A stream's state as JSON, whichever kind of aggregate it is.
pub async fn state_json(
    store: &dyn EventStore,
    stream: &str,
    at: At,
) -> Result<Option<serde_json::Value>> {
    let folded = match chat_domain::parse_stream(stream) {
        Some((chat_domain::StreamKind::Chat, _)) => {
            let l = state_at::<Chat>(store, stream, at).await?;
            (l.version, l.position, serde_json::to_value(&l.state))
        }
        Some((chat_domain::StreamKind::User, _)) => {
            let l = state_at::<User>(store, stream, at).await?;
            (l.version, l.position, serde_json::to_value(&l.state))
        }
        None => return Ok(None),
    };
    let (version, position, state) = folded;
    let state = state.map_err(|e| chat_store::StoreError::Encode(e.to_string()))?;
    Ok(Some(serde_json::json!({
        "stream": stream,
        "version": version,
        "position": position,
        "state": state,
    })))
}

/// Shared handle for the routes and the CLI.
pub type Store = Arc<PgEventStore>;
