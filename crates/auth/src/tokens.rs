//! Refresh tokens (random, stored only as SHA-256, rotated on every use, a
//! reused one revokes its family) and access tokens (HS256 JWTs).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_common::ApiError;
use chat_common::http::ClientInfo;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sessions::{self, Which};
use super::{AuthService, TokenPair, db_error, unauthorized};

/// 32 random bytes, base64url without padding.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a refresh token (or a mailed code).
pub(super) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn invalid_refresh_token() -> ApiError {
    unauthorized(
        "invalid_refresh_token",
        "the refresh token is unknown, expired or revoked",
    )
}

impl AuthService {
    /// A new access token and a new refresh token in `family`, the refresh
    /// token stored through `conn` (the caller's transaction).
    pub(super) async fn issue_pair(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        roles: Vec<String>,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<TokenPair, ApiError> {
        let refresh_token = random_token();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&refresh_token))
        .bind(family_id)
        .bind(user_id)
        .bind(now)
        .bind(now + self.config.refresh_ttl)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        let mut claims = self
            .signer
            .claims(user_id, roles, now, self.config.access_ttl);
        claims.sid = Some(family_id);
        let access_token = self
            .signer
            .sign(&claims)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(TokenPair {
            user_id,
            access_token,
            refresh_token,
            expires_in: self.config.access_ttl.whole_seconds(),
        })
    }

    /// Exchange a refresh token for a new pair in the same family.
    ///
    /// The token's row is locked (`FOR UPDATE`), so of two concurrent
    /// refreshes with one token exactly one wins; the other sees it rotated,
    /// which is reuse: the whole family is revoked.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(
            "SELECT t.family_id, t.user_id, t.expires_at, t.rotated_at, t.revoked_at, c.roles
             FROM refresh_tokens t JOIN auth_credentials c ON c.user_id = t.user_id
             WHERE t.token_hash = $1
             FOR UPDATE OF t",
        )
        .bind(token_hash(refresh_token))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or_else(invalid_refresh_token)?;
        let family_id: Uuid = row.try_get("family_id").map_err(db_error)?;
        let user_id: Uuid = row.try_get("user_id").map_err(db_error)?;
        let expires_at: OffsetDateTime = row.try_get("expires_at").map_err(db_error)?;
        let rotated_at: Option<OffsetDateTime> = row.try_get("rotated_at").map_err(db_error)?;
        let revoked_at: Option<OffsetDateTime> = row.try_get("revoked_at").map_err(db_error)?;
        let roles: Vec<String> = row.try_get("roles").map_err(db_error)?;
        tracing::Span::current().record("user_id", tracing::field::display(user_id));

        if revoked_at.is_some() || expires_at <= now {
            return Err(invalid_refresh_token());
        }
        if rotated_at.is_some() {
            let ids = sessions::revoke(&mut tx, user_id, Which::One(family_id), now).await?;
            tx.commit().await.map_err(db_error)?;
            self.forget(&ids);
            tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
            return Err(unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session token of its login is revoked",
            ));
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1")
            .bind(token_hash(refresh_token))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let pair = self
            .issue_pair(&mut tx, user_id, roles, family_id, now)
            .await?;
        sessions::touch(&mut tx, family_id, now, client).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(pair)
    }

    /// Revoke the refresh token's family. Unknown or already revoked tokens
    /// are fine: logging out twice is logging out.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, refresh_token: &str) -> Result<(), ApiError> {
        let family: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash(refresh_token))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        if let Some((user, family)) = family {
            self.sign_out(user, family).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_43_url_safe_characters_and_never_repeat() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
    }
}
