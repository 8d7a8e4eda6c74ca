//! TOTP multi-factor auth (RFC 6238: SHA-1, 6 digits, 30 s, `totp-rs`):
//! set up (a secret sealed under the master key), enabled with a first
//! code (ten single-use recovery codes, kept hashed), asked for after the
//! password at login (an `mfa_token` good for 5 minutes and 5 wrong codes),
//! and turned off with a code. A code is accepted once: the last time step
//! used is kept, and only newer ones pass.

use axum::http::StatusCode;
use chat_common::ApiError;
use chat_common::http::ClientInfo;
use rand_core::{OsRng, RngCore};
use sqlx::PgConnection;
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};
use uuid::Uuid;

use super::sessions;
use super::tokens::{random_token, token_hash};
use super::{AuthService, TokenPair, db_error, unauthorized};

const STEP: u64 = 30;
const CHALLENGE_TTL: time::Duration = time::Duration::minutes(5);
const MAX_FAILURES: i32 = 5;
const RECOVERY_CODES: usize = 10;

/// What proves the second factor.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    Code(&'a str),
    Recovery(&'a str),
}

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, ApiError> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret,
        Some("chat".to_owned()),
        account.to_owned(),
    )
    .map_err(|e| ApiError::internal(&e))
}

/// The time step `code` is for (one step of clock skew either way), if it
/// is newer than `after`.
fn step_of(totp: &TOTP, code: &str, after: i64) -> Option<i64> {
    let now = OffsetDateTime::now_utc().unix_timestamp() as u64 / STEP;
    (now.saturating_sub(1)..=now + 1)
        .map(|s| s as i64)
        .filter(|s| *s > after)
        .find(|s| {
            let expected = totp.generate(*s as u64 * STEP);
            expected.len() == code.len()
                && expected
                    .bytes()
                    .zip(code.bytes())
                    .fold(0u8, |d, (a, b)| d | (a ^ b))
                    == 0
        })
}

/// `xxxx-xxxx-xxxx-xxxx`: 80 random bits in lowercase base32.
fn recovery_code() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A recovery code as typed (any case, with or without dashes), hashed.
fn recovery_hash(code: &str) -> Vec<u8> {
    let plain: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&plain)
}

fn context(user: Uuid) -> Vec<u8> {
    format!("totp:{user}").into_bytes()
}

fn invalid_code() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_mfa_code",
        "the code is wrong or was already used",
    )
}

fn conflict(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, detail)
}

/// The user's TOTP row, locked: (sealed secret, enabled, last step).
async fn locked(
    conn: &mut PgConnection,
    user: Uuid,
) -> Result<Option<(Vec<u8>, bool, i64)>, ApiError> {
    sqlx::query_as(
        "SELECT secret, enabled_at IS NOT NULL, last_step FROM auth_totp WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

impl AuthService {
    /// Check `proof` against the user's locked TOTP row; records its use.
    async fn prove(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        username: &str,
        (sealed, last): (&[u8], i64),
        proof: Proof<'_>,
    ) -> Result<bool, ApiError> {
        match proof {
            Proof::Code(code) => {
                let secret = self
                    .keys
                    .open(sealed, &context(user))
                    .map_err(|e| ApiError::internal(&e))?;
                let Some(step) = step_of(&totp(secret, username)?, code.trim(), last) else {
                    return Ok(false);
                };
                sqlx::query("UPDATE auth_totp SET last_step = $2 WHERE user_id = $1")
                    .bind(user)
                    .bind(step)
                    .execute(conn)
                    .await
                    .map_err(db_error)?;
                Ok(true)
            }
            Proof::Recovery(code) => {
                let used = sqlx::query(
                    "UPDATE auth_recovery_codes SET used_at = now()
                      WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                )
                .bind(user)
                .bind(recovery_hash(code))
                .execute(conn)
                .await
                .map_err(db_error)?;
                Ok(used.rows_affected() == 1)
            }
        }
    }

    /// With TOTP on, `proof` must be a right code (used up by this);
    /// without TOTP nothing more is asked.
    pub(super) async fn prove_second_factor(
        &self,
        user: Uuid,
        username: &str,
        proof: Option<Proof<'_>>,
    ) -> Result<(), ApiError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let Some((sealed, true, last)) = locked(&mut tx, user).await? else {
            return Ok(());
        };
        let Some(proof) = proof else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_code_required",
                "TOTP is on: send a code or a recovery code as well",
            ));
        };
        if !self
            .prove(&mut tx, user, username, (&sealed, last), proof)
            .await?
        {
            return Err(invalid_code());
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    /// Start setting TOTP up (again, until it is enabled): the secret, in
    /// base32 and as an `otpauth://` URI for an authenticator app.
    pub async fn totp_setup(&self, user: Uuid) -> Result<(String, String), ApiError> {
        let username = self.local_username(user).await?;
        let mut secret = vec![0u8; 20];
        OsRng.fill_bytes(&mut secret);
        let totp = totp(secret.clone(), &username)?;
        let done = sqlx::query(
            "INSERT INTO auth_totp (user_id, secret, created_at) VALUES ($1, $2, now())
             ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now(), last_step = 0
              WHERE auth_totp.enabled_at IS NULL",
        )
        .bind(user)
        .bind(self.keys.seal(&secret, &context(user)))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(conflict(
                "mfa_already_enabled",
                "TOTP is on; turn it off first",
            ));
        }
        Ok((totp.get_secret_base32(), totp.get_url()))
    }

    /// Turn TOTP on with a first code; the recovery codes, shown once.
    pub async fn totp_enable(&self, user: Uuid, code: &str) -> Result<Vec<String>, ApiError> {
        let username = self.local_username(user).await?;
        self.check_account_limit(&username).await?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let (sealed, enabled, last) = locked(&mut tx, user).await?.ok_or_else(|| {
            conflict("mfa_not_set_up", "set TOTP up first (POST /v1/me/mfa/totp)")
        })?;
        if enabled {
            return Err(conflict("mfa_already_enabled", "TOTP is already on"));
        }
        if !self
            .prove(&mut tx, user, &username, (&sealed, last), Proof::Code(code))
            .await?
        {
            return Err(invalid_code());
        }
        sqlx::query("UPDATE auth_totp SET enabled_at = now() WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        sqlx::query("DELETE FROM auth_recovery_codes WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO auth_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])",
        )
        .bind(user)
        .bind(codes.iter().map(|c| recovery_hash(c)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(%user, "TOTP enabled");
        Ok(codes)
    }

    /// Turn TOTP off with a code or a recovery code.
    pub async fn totp_disable(&self, user: Uuid, proof: Proof<'_>) -> Result<(), ApiError> {
        let username = self.local_username(user).await?;
        self.check_account_limit(&username).await?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let Some((sealed, true, last)) = locked(&mut tx, user).await? else {
            return Err(conflict("mfa_not_enabled", "TOTP is not on"));
        };
        if !self
            .prove(&mut tx, user, &username, (&sealed, last), proof)
            .await?
        {
            return Err(invalid_code());
        }
        for table in ["auth_totp", "auth_recovery_codes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        tracing::info!(%user, "TOTP disabled");
        Ok(())
    }

    /// After a right password: the challenge's token when the user has
    /// TOTP on (the login answers 401 `mfa_required` with it).
    pub(super) async fn mfa_challenge(&self, user: Uuid) -> Result<Option<String>, ApiError> {
        let on: Option<bool> = sqlx::query_scalar(
            "SELECT true FROM auth_totp WHERE user_id = $1 AND enabled_at IS NOT NULL",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        if on.is_none() {
            return Ok(None);
        }
        let token = random_token();
        sqlx::query(
            "INSERT INTO auth_mfa_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash(&token))
        .bind(user)
        .bind(OffsetDateTime::now_utc() + CHALLENGE_TTL)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(Some(token))
    }

    /// The login's second step: the challenge and a proof; a session.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        proof: Proof<'_>,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let invalid_token = || {
            unauthorized(
                "invalid_mfa_token",
                "the mfa_token is unknown or expired; log in again",
            )
        };
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let found: Option<(Uuid, String, Vec<String>)> = sqlx::query_as(
            "SELECT c.user_id, a.username, a.roles FROM auth_mfa_challenges c
               JOIN auth_credentials a USING (user_id)
              WHERE c.token_hash = $1 AND c.expires_at > now() FOR UPDATE OF c",
        )
        .bind(token_hash(mfa_token))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let (user, username, roles) = found.ok_or_else(invalid_token)?;
        self.check_account_limit(&username).await?;
        let Some((sealed, true, last)) = locked(&mut tx, user).await? else {
            return Err(invalid_token());
        };
        if !self
            .prove(&mut tx, user, &username, (&sealed, last), proof)
            .await?
        {
            // The last allowed guess ends the challenge.
            let ended = sqlx::query(
                "DELETE FROM auth_mfa_challenges WHERE token_hash = $1 AND failures + 1 >= $2",
            )
            .bind(token_hash(mfa_token))
            .bind(MAX_FAILURES)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            if ended.rows_affected() == 0 {
                sqlx::query(
                    "UPDATE auth_mfa_challenges SET failures = failures + 1 WHERE token_hash = $1",
                )
                .bind(token_hash(mfa_token))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
            return Err(invalid_code());
        }
        sqlx::query("DELETE FROM auth_mfa_challenges WHERE token_hash = $1")
            .bind(token_hash(mfa_token))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let now = OffsetDateTime::now_utc();
        let session = Uuid::now_v7();
        let pair = self.issue_pair(&mut tx, user, roles, session, now).await?;
        sessions::open(&mut tx, session, user, now, client).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(pair)
    }

    /// The account's login budget, shared by every guess of a secret.
    pub(super) async fn check_account_limit(&self, username: &str) -> Result<(), ApiError> {
        match &self.limiter {
            Some(limiter) => limiter.check_login(username).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238_and_each_step_is_taken_once() {
        // RFC 6238, appendix B: SHA-1, T = 59 s, 8 digits 94287082.
        let rfc = TOTP::new_unchecked(
            Algorithm::SHA1,
            8,
            1,
            30,
            b"12345678901234567890".to_vec(),
            None,
            String::new(),
        );
        assert_eq!(rfc.generate(59), "94287082");
        let t = totp(b"12345678901234567890".to_vec(), "ana").unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp() as u64 / STEP;
        let code = t.generate(now * STEP);
        assert_eq!(step_of(&t, &code, 0), Some(now as i64));
        assert_eq!(step_of(&t, &code, now as i64), None, "replayed");
        let old = t.generate((now - 2) * STEP);
        assert_eq!(
            step_of(&t, &old, 0).filter(|s| *s == now as i64 - 2),
            None,
            "expired"
        );
        assert!(t.get_url().starts_with("otpauth://totp/chat:ana?secret="));
    }

    #[test]
    fn recovery_codes_are_80_bits_and_typed_loosely() {
        let c = recovery_code();
        assert_eq!(c.len(), 19);
        assert_eq!(
            recovery_hash(&c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_code(), c);
    }
}
