//! Password rules and Argon2id hashing (the argon2 crate's defaults), run on
//! the blocking pool so a hash never stalls the async workers.
//!
//! Each hash or verification takes 19 MiB and a core for tens of
//! milliseconds, so they pass through one [`Gate`] per process: at most one
//! per core at a time (more would only share the cores and multiply the
//! memory), at most [`MAX_QUEUED`] waiting, and beyond that a 503
//! `server_busy` with `Retry-After` rather than a queue that grows without
//! bound. No caller holds a database connection while it waits here.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chat_common::ApiError;

pub(super) const MIN_PASSWORD_CHARS: usize = 8;
pub(super) const MAX_PASSWORD_CHARS: usize = 128;

/// 400 `invalid_password` unless 8..=128 characters.
pub(super) fn check_rules(password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&len) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_password",
            format!("passwords are {MIN_PASSWORD_CHARS}..={MAX_PASSWORD_CHARS} characters"),
        )
        .with_field("password"))
    }
}

fn hash_now(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash a password: {e}"))
}

/// Hashes waiting for a core before new ones are turned away.
pub const MAX_QUEUED: usize = 64;

/// Bounded concurrency for password work.
struct Gate {
    cores: Semaphore,
    queued: AtomicUsize,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate {
        cores: Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())),
        queued: AtomicUsize::new(0),
    })
}

/// Run `work` on the blocking pool once a core is free for it.
async fn gated<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let gate = gate();
    if gate.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
        gate.queued.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "too many sign-ins and sign-ups are waiting; retry shortly",
        )
        .with_retry_after(1));
    }
    let permit = gate.cores.acquire().await;
    gate.queued.fetch_sub(1, Ordering::AcqRel);
    let _permit = permit.map_err(|e| ApiError::internal(&e))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// The PHC string of `password` with a fresh salt.
pub(super) async fn hash(password: String) -> Result<String, ApiError> {
    gated(move || hash_now(&password))
        .await?
        .map_err(|e| ApiError::internal(&e))
}

/// A hash of nothing anyone knows, verified against when the user does not
/// exist so that an unknown username costs as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("no user has this password").unwrap_or_default())
}

/// Whether `password` matches `stored`; `None` (unknown user) runs the same
/// work against a dummy hash and answers `false`. A stored value that is no
/// PHC string (an account without a password) never matches.
pub(super) async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    gated(move || {
        let known = stored.is_some();
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let matches = PasswordHash::new(stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        known && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_eight_to_128_characters() {
        assert!(check_rules("1234567").is_err());
        assert!(check_rules("12345678").is_ok());
        assert!(check_rules(&"é".repeat(128)).is_ok());
        let e = check_rules(&"x".repeat(129)).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_password", Some("password"))
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("correct horse".into(), None).await.unwrap());
        assert!(!verify("x".into(), Some("!".into())).await.unwrap());
    }
}
