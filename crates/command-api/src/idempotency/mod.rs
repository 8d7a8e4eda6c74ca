//! Durable `Idempotency-Key` answers (design.md, hard problem 2).
//!
//! Every command may carry a key; the first answer for `(actor, key)` is
//! stored in Postgres (`idempotency_keys`) together with a fingerprint of the
//! request, and a repeat within the retention window gets that answer back
//! byte for byte without the command running again. The table survives
//! restarts, so this is a dedup window, not a cache.
//!
//! Concurrent duplicates are serialized twice over: on one node by an
//! in-process per-key mutex (so waiters hold no database connection), across
//! nodes by a transaction-scoped advisory lock on a hash of `(actor, key)`,
//! held while the command runs and released when its answer is committed.

mod keylock;
mod response;

use std::future::Future;
use std::sync::{Arc, Weak};

use axum::http::StatusCode;
use chat_common::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::types::Json;
use tokio::sync::Semaphore;
use uuid::Uuid;

use keylock::KeyLocks;
pub use response::{IDEMPOTENT_REPLAYED, StoredResponse};

/// Longest accepted `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 255;

/// Rows deleted per statement by [`IdempotencyStore::purge_expired`].
const PURGE_BATCH: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// How long an answer is replayed (24 h by default). Older rows count as
    /// absent and are purged.
    pub retention: time::Duration,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            retention: time::Duration::hours(24),
        }
    }
}

/// The answers of keyed commands, in Postgres.
#[derive(Debug)]
pub struct IdempotencyStore {
    pool: PgPool,
    config: IdempotencyConfig,
    locks: KeyLocks,
    /// A run holds one pooled connection (its transaction) while the command,
    /// which needs connections of its own, runs. Capping runs at half the pool
    /// keeps the pool from filling with transactions whose commands then wait
    /// forever for a connection.
    running: Semaphore,
}

#[derive(Serialize, Deserialize)]
struct StoredHeaders {
    #[serde(rename = "content-type")]
    content_type: String,
}

type Row = (Vec<u8>, i16, Vec<u8>, Option<Json<StoredHeaders>>);

impl IdempotencyStore {
    pub fn new(pool: PgPool, config: IdempotencyConfig) -> Self {
        let permits = (pool.options().get_max_connections() / 2).max(1) as usize;
        Self {
            pool,
            config,
            locks: KeyLocks::default(),
            running: Semaphore::new(permits),
        }
    }

    pub fn config(&self) -> &IdempotencyConfig {
        &self.config
    }

    fn retention_secs(&self) -> f64 {
        self.config.retention.as_seconds_f64()
    }

    /// Run `f` at most once per `(actor, key)` within the retention window.
    ///
    /// Returns the answer and whether it is a replay. A repeat with the same
    /// fingerprint gets the stored answer (`true`); a repeat with another
    /// fingerprint is a 422 `idempotency_key_reused`; a key that is not 1–255
    /// printable ASCII characters is a 400 `invalid_idempotency_key`. Answers
    /// with a 5xx status are not stored, so a retry runs `f` again.
    ///
    /// `f` must do its work through connections of its own (not a transaction
    /// shared with this one): its effects commit before the answer is stored.
    /// If the returned future is dropped while `f` runs (a client that went
    /// away), the answer is not stored; callers whose commands must not be cut
    /// short should drive this future to completion (e.g. in `tokio::spawn`).
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn run<F, Fut>(
        &self,
        actor: Uuid,
        key: &str,
        fingerprint: [u8; 32],
        f: F,
    ) -> Result<(StoredResponse, bool), ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoredResponse>,
    {
        validate_key(key)?;
        let _local = self.locks.acquire(actor, key).await;
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;

        let unavailable = |e: sqlx::Error| ApiError::unavailable(&e);
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_id(actor, key))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        // Read committed: this statement's snapshot is taken after the lock,
        // so it sees whatever the previous holder committed.
        let existing: Option<Row> = sqlx::query_as(
            "SELECT fingerprint, status, body, headers FROM idempotency_keys \
             WHERE actor = $1 AND key = $2 \
               AND created_at > now() - make_interval(secs => $3)",
        )
        .bind(actor)
        .bind(key)
        .bind(self.retention_secs())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;

        if let Some((stored_fp, status, body, headers)) = existing {
            if let Err(e) = tx.rollback().await {
                tracing::debug!(error = %e, "ending a read-only idempotency transaction");
            }
            if stored_fp.as_slice() != fingerprint.as_slice() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for a different request",
                ));
            }
            let status = u16::try_from(status).map_err(|e| ApiError::internal(&e))?;
            let content_type = headers
                .map(|Json(h)| h.content_type)
                .unwrap_or_else(|| "application/json".to_owned());
            let answer = StoredResponse {
                status,
                body,
                content_type,
                retry_after: None,
            };
            return Ok((answer, true));
        }

        let answer = f().await;
        // 5xx and anything asking for a retry are not the command's answer.
        let storable = answer.status < 500 && answer.retry_after.is_none();
        match i16::try_from(answer.status) {
            Ok(status) if storable => {
                if let Err(e) = store(tx, actor, key, &fingerprint, status, &answer).await {
                    // The command took effect; its answer is still the right
                    // one to send, it just will not be replayed.
                    tracing::error!(error = %e, "storing an idempotent answer failed");
                }
            }
            _ => {
                if let Err(e) = tx.rollback().await {
                    tracing::debug!(error = %e, "ending an idempotency transaction");
                }
            }
        }
        Ok((answer, false))
    }

    /// Delete answers older than the retention window; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, sqlx::Error> {
        let mut total = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM idempotency_keys WHERE ctid IN ( \
                   SELECT ctid FROM idempotency_keys \
                   WHERE created_at <= now() - make_interval(secs => $1) LIMIT $2)",
            )
            .bind(self.retention_secs())
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await?
            .rows_affected();
            total += done;
            if done < PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Purge expired answers every `every` until the store is dropped (or the
    /// handle aborted). Failures are logged and retried at the next tick.
    pub fn spawn_cleanup(
        self: &Arc<Self>,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let store: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(store) = store.upgrade() else { return };
                match store.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
                    Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
                }
            }
        })
    }
}

async fn store(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    actor: Uuid,
    key: &str,
    fingerprint: &[u8; 32],
    status: i16,
    answer: &StoredResponse,
) -> Result<(), sqlx::Error> {
    let headers = Json(StoredHeaders {
        content_type: answer.content_type.clone(),
    });
    // An existing row here is older than the retention window: overwrite it.
    sqlx::query(
        "INSERT INTO idempotency_keys (actor, key, fingerprint, status, body, headers) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (actor, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
           status = EXCLUDED.status, body = EXCLUDED.body, headers = EXCLUDED.headers, \
           created_at = now()",
    )
    .bind(actor)
    .bind(key)
    .bind(fingerprint.as_slice())
    .bind(status)
    .bind(answer.body.as_slice())
    .bind(headers)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The fingerprint of a request: SHA-256 over method, path, the `If-Match`
/// precondition (a different one is a different request, not a retry) and
/// body bytes. Without a precondition it is what it always was, so keys
/// stored before it counted stay valid.
pub fn fingerprint(method: &str, path: &str, if_match: Option<&[u8]>, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    if let Some(precondition) = if_match {
        h.update(b"if-match:");
        h.update(precondition);
        h.update(b"\n");
    }
    h.update(body);
    h.finalize().into()
}

/// 1 to 255 printable ASCII characters (space included).
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        )
        .with_field("Idempotency-Key"));
    }
    Ok(())
}

/// The advisory lock for `(actor, key)`: 64 bits of a namespaced SHA-256.
fn lock_id(actor: Uuid, key: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(b"chat:idempotency\0");
    h.update(actor.as_bytes());
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_short_printable_ascii() {
        assert!(validate_key("abc-123 X").is_ok());
        assert!(validate_key(&"k".repeat(255)).is_ok());
        for bad in ["", "tab\there", "é", "new\nline"] {
            assert_eq!(
                validate_key(bad).unwrap_err().code,
                "invalid_idempotency_key"
            );
        }
        assert!(validate_key(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let a = fingerprint("POST", "/v1/chats/group", None, b"{}");
        assert_eq!(a, fingerprint("POST", "/v1/chats/group", None, b"{}"));
        assert_ne!(a, fingerprint("PUT", "/v1/chats/group", None, b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/chats/direct", None, b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/chats/group", None, b"{ }"));
        assert_ne!(a, fingerprint("POST", "/v1/chats/group", Some(b"3"), b"{}"));
    }

    #[test]
    fn lock_ids_differ_per_actor() {
        let k = "same";
        assert_ne!(lock_id(Uuid::new_v4(), k), lock_id(Uuid::new_v4(), k));
    }
}
