//! Access tokens: the claims, issuing our own (HS256) and verifying ours or an
//! external issuer's, shared by every service that authenticates requests.
//!
//! * [`Verifier`] checks a token and answers the [`Principal`] it names;
//! * [`AuthUser`] is the axum extractor every authenticated route takes
//!   (`Authorization: Bearer …`, or `?access_token=` for WebSockets);
//! * [`TokenSigner`] issues our own tokens (the command side's auth module and
//!   tests of every service use it).
//!
//! Errors are 401 problem+json with the codes `missing_token`,
//! `invalid_token` and `token_expired`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;
use crate::config::Secret;

mod external;
mod signer;

use external::{External, ExternalClaims, external, mapped_roles, string_list};
pub use external::{ExternalIssuer, ExternalKey, external_user_id};
pub use signer::TokenSigner;

/// The role that unlocks the audit API.
pub const ROLE_AUDITOR: &str = "auditor";

/// `iss` and `aud` of our own tokens unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "chat";
pub const DEFAULT_AUDIENCE: &str = "chat";

/// Seconds of clock skew tolerated when checking `exp`.
pub const LEEWAY_SECS: u64 = 30;

/// Namespace of the user ids derived from external identities whose `sub` is
/// not a UUID: `UUIDv5(EXTERNAL_USER_NAMESPACE, "{iss}|{sub}")`. Never change
/// it: every external user would get a new id.
pub const EXTERNAL_USER_NAMESPACE: Uuid =
    Uuid::from_u128(0x3f6c_1e0a_92d4_4b7e_8a51_c0d9_6e2f_7b13);

/// JWT claims of an access token (`sub` is the user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The session (refresh-token family) the token was issued in: what
    /// signing a device out revokes. Absent in tokens minted by tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

/// The authenticated caller, as the routes see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub roles: Vec<String>,
    /// Authenticated by the external issuer rather than by us.
    pub external: bool,
    /// The external token's `preferred_username`, for the automatic profile.
    pub username_hint: Option<String>,
    /// Our token's session (`sid`); `None` for external tokens.
    pub session_id: Option<Uuid>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// How tokens are signed and checked.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HS256 key of the tokens we issue.
    pub secret: Secret,
    /// `iss` of our tokens (default `chat`).
    pub issuer: String,
    /// `aud` of our tokens (default `chat`).
    pub audience: String,
    /// Another issuer whose tokens are accepted too.
    pub external: Option<ExternalIssuer>,
}

impl JwtConfig {
    /// Our own tokens only, with the default issuer and audience.
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            external: None,
        }
    }
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

/// 401 for a request that carries no token.
pub fn missing_token() -> ApiError {
    unauthorized("missing_token", "an access token is required")
}

fn invalid_token() -> ApiError {
    unauthorized("invalid_token", "the access token is invalid")
}

fn token_error(e: &jsonwebtoken::errors::Error) -> ApiError {
    match e.kind() {
        JwtErrorKind::ExpiredSignature => {
            unauthorized("token_expired", "the access token has expired")
        }
        _ => {
            tracing::debug!(error = %e, "rejected access token");
            invalid_token()
        }
    }
}

pub(super) fn validation(algorithms: Vec<Algorithm>, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.algorithms = algorithms;
    v.leeway = LEEWAY_SECS;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

/// Sessions signed out while access tokens issued in them may still be
/// alive (an access token lives minutes, and is not looked up per
/// request): every node's [`Verifier`] refuses their tokens. The node that
/// revokes adds the session at once; every node reloads the set from the
/// database each second (`chat_auth::sessions::watch_revocations`).
#[derive(Debug, Clone, Default)]
pub struct RevokedSessions(Arc<std::sync::RwLock<Revoked>>);

#[derive(Debug, Default)]
struct Revoked {
    /// As the database had it at the last reload.
    loaded: std::collections::HashSet<Uuid>,
    /// Revoked here since: a reload that read the database before their
    /// commit must not drop them.
    local: Vec<(Uuid, std::time::Instant)>,
}

/// How long a session revoked here is kept besides the reloaded set.
const LOCAL_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl RevokedSessions {
    pub fn contains(&self, session: Uuid) -> bool {
        self.0.read().is_ok_and(|r| {
            r.loaded.contains(&session) || r.local.iter().any(|(s, _)| *s == session)
        })
    }

    /// Revoked on this node (after its commit).
    pub fn insert(&self, session: Uuid) {
        if let Ok(mut r) = self.0.write() {
            r.local.push((session, std::time::Instant::now()));
        }
    }

    /// The set as the database has it now (sessions whose tokens have all
    /// expired drop out).
    pub fn replace(&self, sessions: std::collections::HashSet<Uuid>) {
        if let Ok(mut r) = self.0.write() {
            r.loaded = sessions;
            r.local.retain(|(_, at)| at.elapsed() < LOCAL_GRACE);
        }
    }
}

/// Checks access tokens: ours (HS256) and, if configured, an external
/// issuer's. Cheap to share (`Arc<Verifier>` in every service's state).
pub struct Verifier {
    issuer: String,
    key: DecodingKey,
    validation: Validation,
    external: Option<External>,
    revoked: RevokedSessions,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("external", &self.external.as_ref().map(|e| &e.issuer))
            .finish_non_exhaustive()
    }
}

/// Only the `iss` claim, read before the signature to pick the key.
#[derive(Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    iss: Option<String>,
}

impl Verifier {
    pub fn new(config: &JwtConfig) -> Result<Verifier, String> {
        if config.secret.expose().is_empty() {
            return Err("the JWT secret is empty".into());
        }
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err("the JWT issuer and audience must not be empty".into());
        }
        let external = config.external.as_ref().map(external).transpose()?;
        if let Some(ext) = &external
            && ext.issuer == config.issuer
        {
            return Err(format!(
                "the external issuer {:?} must differ from ours",
                ext.issuer
            ));
        }
        Ok(Verifier {
            issuer: config.issuer.clone(),
            key: DecodingKey::from_secret(config.secret.expose().as_bytes()),
            validation: validation(vec![Algorithm::HS256], &config.issuer, &config.audience),
            external,
            revoked: RevokedSessions::default(),
        })
    }

    /// The sessions whose tokens this verifier refuses.
    pub fn revoked(&self) -> &RevokedSessions {
        &self.revoked
    }

    /// Check `token` and answer whom it authenticates.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(missing_token());
        }
        let iss = jsonwebtoken::dangerous::insecure_decode::<IssuerOnly>(token)
            .map_err(|e| token_error(&e))?
            .claims
            .iss;
        match &self.external {
            Some(ext) if iss.as_deref() == Some(ext.issuer.as_str()) => {
                Self::verify_external(ext, token)
            }
            _ => self.verify_ours(token),
        }
    }

    fn verify_ours(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| token_error(&e))?;
        let user_id = Uuid::parse_str(&data.claims.sub).map_err(|_| invalid_token())?;
        if let Some(sid) = data.claims.sid
            && self.revoked.contains(sid)
        {
            return Err(unauthorized(
                "session_revoked",
                "this session was signed out; sign in again",
            ));
        }
        Ok(Principal {
            user_id,
            roles: data.claims.roles,
            external: false,
            username_hint: None,
            session_id: data.claims.sid,
        })
    }

    fn verify_external(ext: &External, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<ExternalClaims>(token, &ext.key, &ext.validation)
            .map_err(|e| token_error(&e))?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(invalid_token());
        }
        Ok(Principal {
            user_id: external_user_id(&ext.issuer, &claims.sub),
            roles: mapped_roles(&ext.role_map, &string_list(&claims.roles)),
            external: true,
            username_hint: claims
                .preferred_username
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty()),
            session_id: None,
        })
    }
}

/// The verified caller of a route. Rejects with 401 problem+json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub Principal);

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

/// The token of a request: `Authorization: Bearer …`, else `?access_token=`.
/// `Ok(None)` when the request carries neither.
fn request_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid_token())?.trim();
        let (scheme, token) = value.split_once(' ').ok_or_else(invalid_token)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized(
                "invalid_token",
                "the Authorization header must use the Bearer scheme",
            ));
        }
        return Ok(Some(token.trim().to_owned()));
    }
    let query = Query::<TokenQuery>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.access_token);
    Ok(query.filter(|t| !t.trim().is_empty()))
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    /// A layer in front may have verified the token already and left the
    /// principal in the request's extensions: the token is verified once.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(AuthUser(p.clone()));
        }
        let token = request_token(parts)?.ok_or_else(missing_token)?;
        let principal = Arc::<Verifier>::from_ref(state).verify(&token)?;
        parts.extensions.insert(principal.clone());
        Ok(AuthUser(principal))
    }
}

/// `Option<AuthUser>`: `None` without a token, a 401 for a bad one.
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match request_token(parts)? {
            None => Ok(None),
            Some(token) => Arc::<Verifier>::from_ref(state)
                .verify(&token)
                .map(|p| Some(AuthUser(p))),
        }
    }
}

#[cfg(test)]
mod tests;
