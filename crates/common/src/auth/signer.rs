//! Issuing our own access tokens (the command side's auth, and tests).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use uuid::Uuid;

use super::{Claims, JwtConfig};

/// Issues our own HS256 access tokens.
pub struct TokenSigner {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn new(config: &JwtConfig) -> Result<TokenSigner, String> {
        if config.secret.expose().is_empty() {
            return Err("the JWT secret is empty".into());
        }
        Ok(TokenSigner {
            key: EncodingKey::from_secret(config.secret.expose().as_bytes()),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// The claims of a token for `user_id`, valid from `now` for `ttl`.
    pub fn claims(
        &self,
        user_id: Uuid,
        roles: Vec<String>,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Claims {
        let iat = now.unix_timestamp();
        Claims {
            sub: user_id.to_string(),
            iat,
            exp: iat + ttl.whole_seconds(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            roles,
            sid: None,
        }
    }

    /// Sign any claims (our [`Claims`], or other shapes in tests).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|e| format!("cannot sign an access token: {e}"))
    }
}
