//! Load → decide → append.
//!
//! Every command runs [`execute`]: take the aggregate from the cache (or fold
//! it from the snapshot and the stream), build the command with facts loaded
//! for it, `decide`, and append with the exact version the decision saw.
//!
//! * A cached state is decided on without asking the store first: the
//!   append's expected-version check is what catches a stale entry (another
//!   process appended), and the command then re-loads and re-decides. A
//!   refusal or a decision to do nothing, which append nothing and so check
//!   nothing, is confirmed on a freshly loaded state before it is answered.
//! * Commands to one stream are serialized inside the process (a lock per
//!   stream), so concurrent sends into one chat queue instead of colliding.
//! * Across processes a concurrent append shows up as a version conflict: the
//!   command re-loads and re-decides (bounded retries). Re-deciding is always
//!   sound because the decision reads fresh state and fresh facts.
//! * `If-Match: <version>` makes a command strict: a mismatch is 409.

mod cache;
pub mod context;
pub mod follow;
pub mod snapshots;

use std::time::Duration;

use axum::http::StatusCode;
use chat_common::ApiError;
use chat_domain::{DomainError, ErrorKind};
use chat_store::typed::{self, Loaded};
use chat_store::{ExpectedVersion, StoreError};

pub use cache::{AggregateCache, Cached};
pub use context::CommandContext;

use crate::CommandState;

/// Attempts before a command that keeps conflicting gives up.
const MAX_ATTEMPTS: usize = 8;

/// What a command did, for its answer.
#[derive(Debug, Clone)]
pub struct Outcome<E> {
    pub stream: String,
    /// The stream's version after the command (unchanged if nothing was appended).
    pub version: u64,
    /// Global position of the command's last event, or of the stream's newest
    /// event when the command was a no-op: either way, waiting for this
    /// position gives read-your-writes.
    pub position: u64,
    /// The events appended (empty for a no-op).
    pub events: Vec<E>,
}

/// Map a domain refusal to its HTTP problem.
pub fn domain_error(e: DomainError) -> ApiError {
    let status = match e.kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
    };
    let mut err = ApiError::new(status, e.code, e.detail);
    if let Some(field) = e.field {
        err = err.with_field(field);
    }
    err
}

/// Map a store failure that is not a concurrency outcome.
pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::WrongExpectedVersion { actual, .. } => ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!("the stream is at version {actual}"),
        ),
        StoreError::IdempotencyMismatch => ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_event_id",
            "event ids were already used by a different command",
        ),
        other => ApiError::unavailable(&other),
    }
}

/// The state to decide on: the cached entry as it is when `trust_cache`
/// (the append's version check will catch it if stale), else [`load`].
/// Answers whether the state was verified against the store.
async fn current<A: Cached>(
    state: &CommandState,
    stream: &str,
    trust_cache: bool,
) -> Result<(Loaded<A>, bool), ApiError> {
    if trust_cache && let Some(hit) = A::cache(&state.cache).get(stream) {
        return Ok((hit, false));
    }
    Ok((read(state, stream).await?, true))
}

/// A stream's state: from the cache while it follows the log (as current as
/// what this process has seen), else folded from the store ([`read`]).
/// Facts from other streams come through here.
pub async fn load<A: Cached>(state: &CommandState, stream: &str) -> Result<Loaded<A>, ApiError> {
    match state.cache.current::<A>(stream) {
        Some(hit) => Ok(hit),
        None => read(state, stream).await,
    }
}

/// Fold `stream` up to date from the store: the cached state (or else the
/// snapshot, or else nothing) plus whatever was appended since.
async fn read<A: Cached>(state: &CommandState, stream: &str) -> Result<Loaded<A>, ApiError> {
    let since = state.cache.seen();
    let cache = A::cache(&state.cache);
    let from = match cache.get(stream) {
        Some(hit) => hit,
        None => snapshots::read(&state.pool, stream)
            .await
            .unwrap_or_else(Loaded::empty),
    };
    let start = from.version;
    let loaded = typed::load_from(state.store.as_ref(), stream, from)
        .await
        .map_err(store_error)?;
    if loaded.version - start >= snapshots::SNAPSHOT_EVERY {
        snapshots::write(&state.pool, stream, &loaded).await;
    }
    state.cache.put_since(stream, loaded.clone(), since);
    Ok(loaded)
}

/// Run one command against `stream`. `build` turns the freshly loaded state
/// into the command (loading whatever facts it needs; it gets a copy of the
/// state so its future owns what it reads); it runs again on every retry so facts are never older than the state they are judged with.
#[tracing::instrument(name = "command", skip_all, fields(
    stream = %stream,
    actor = %ctx.actor(),
    command_id = ctx.command_id.as_deref(),
    correlation_id = ctx.request_id.as_deref(),
))]
pub async fn execute<A, F, Fut>(
    state: &CommandState,
    ctx: &CommandContext,
    stream: &str,
    build: F,
) -> Result<Outcome<A::Event>, ApiError>
where
    A: Cached,
    F: Fn(Loaded<A>) -> Fut + Send,
    Fut: Future<Output = Result<A::Command, ApiError>> + Send,
{
    let lock = state.cache.stream_lock(stream);
    let _guard = lock.lock().await;
    // `If-Match` compares with the stream as stored: no trusting the cache.
    let mut trust_cache = ctx.if_match.is_none();
    for attempt in 0..MAX_ATTEMPTS {
        let (loaded, verified): (Loaded<A>, bool) = current(state, stream, trust_cache).await?;
        trust_cache = false;
        if let Some(expected) = ctx.if_match
            && expected != loaded.version
        {
            return Err(version_mismatch(expected, loaded.version));
        }
        let command = build(loaded.clone()).await?;
        let events = match loaded.state.decide(&command, &state.policy) {
            Ok(events) => events,
            // A refusal appends nothing, so nothing checked the cached
            // state it was judged on: decide again on the stream as stored.
            Err(_) if !verified => continue,
            Err(e) => return Err(domain_error(e)),
        };
        if events.is_empty() {
            if !verified {
                // Likewise for a decision to do nothing.
                continue;
            }
            return Ok(Outcome {
                stream: stream.to_owned(),
                version: loaded.version,
                position: loaded.position,
                events,
            });
        }
        let meta = ctx.metadata();
        let new = events
            .iter()
            .map(|e| typed::encode(e, &meta, ctx.at))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(&e))?;
        let since = state.cache.seen();
        match state
            .store
            .append(stream, ExpectedVersion::Exact(loaded.version), new)
            .await
        {
            Ok(res) => {
                let mut next = loaded;
                next.state = events
                    .iter()
                    .fold(std::mem::take(&mut next.state), |s, e| s.evolve(e));
                next.version = res.last_version;
                next.position = res.last_position;
                state.cache.put_since(stream, next, since);
                return Ok(Outcome {
                    stream: stream.to_owned(),
                    version: res.last_version,
                    position: res.last_position,
                    events,
                });
            }
            // The command would create what the stream already has: a
            // resend of the same message. Nothing to append.
            Err(StoreError::SubjectTaken { position, .. }) => {
                return Ok(Outcome {
                    stream: stream.to_owned(),
                    version: loaded.version,
                    position: position.max(loaded.position),
                    events: Vec::new(),
                });
            }
            Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                if let Some(expected) = ctx.if_match {
                    return Err(version_mismatch(expected, actual));
                }
                // Another process appended first: decide again on fresh state.
                A::cache(&state.cache).forget(stream);
                tracing::debug!(stream, attempt, "version conflict; re-deciding");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "concurrency_conflict",
        "the chat changed too often while this command was decided; retry",
    )
    .with_retry_after(1))
}

fn version_mismatch(expected: u64, actual: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_conflict",
        format!("If-Match expected version {expected}, the stream is at {actual}"),
    )
}

/// Small, growing, jittered pauses between conflicting attempts.
fn backoff(attempt: usize) -> Duration {
    let base = 2u64 << attempt.min(6);
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % base.max(1);
    Duration::from_millis(base + jitter)
}
