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
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;
use crate::config::Secret;

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

/// An external identity provider whose access tokens we accept.
#[derive(Debug, Clone)]
pub struct ExternalIssuer {
    /// Must equal the tokens' `iss`.
    pub issuer: String,
    /// Must be one of the tokens' `aud`.
    pub audience: String,
    pub key: ExternalKey,
    /// The issuer's role names that grant one of ours (`JWT_ROLE_MAP`,
    /// `theirs=ours`). A role the map does not name grants nothing: an
    /// identity provider's `auditor` is not ours unless configured so.
    pub role_map: Vec<(String, String)>,
}

/// The external issuer's verification key.
#[derive(Debug, Clone)]
pub enum ExternalKey {
    /// A shared HS256 secret.
    Hs256(Secret),
    /// A public key in PEM: RSA (RS256/384/512) or EC (ES256/384), detected.
    PublicPem(String),
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

fn validation(algorithms: Vec<Algorithm>, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.algorithms = algorithms;
    v.leeway = LEEWAY_SECS;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

struct External {
    issuer: String,
    key: DecodingKey,
    validation: Validation,
    role_map: Vec<(String, String)>,
}

/// Checks access tokens: ours (HS256) and, if configured, an external
/// issuer's. Cheap to share (`Arc<Verifier>` in every service's state).
pub struct Verifier {
    issuer: String,
    key: DecodingKey,
    validation: Validation,
    external: Option<External>,
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

/// What we read from an external issuer's token.
#[derive(Deserialize)]
struct ExternalClaims {
    sub: String,
    #[serde(default)]
    preferred_username: Option<String>,
    /// Used only when it is a list of strings.
    #[serde(default)]
    roles: serde_json::Value,
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
        })
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
        Ok(Principal {
            user_id,
            roles: data.claims.roles,
            external: false,
            username_hint: None,
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
        })
    }
}

fn external(ext: &ExternalIssuer) -> Result<External, String> {
    if ext.issuer.is_empty() || ext.audience.is_empty() {
        return Err("the external issuer and audience must not be empty".into());
    }
    let (key, algorithms) = match &ext.key {
        ExternalKey::Hs256(secret) if secret.expose().is_empty() => {
            return Err("the external issuer's secret is empty".into());
        }
        ExternalKey::Hs256(secret) => (
            DecodingKey::from_secret(secret.expose().as_bytes()),
            vec![Algorithm::HS256],
        ),
        ExternalKey::PublicPem(pem) => public_key(pem)?,
    };
    Ok(External {
        issuer: ext.issuer.clone(),
        validation: validation(algorithms, &ext.issuer, &ext.audience),
        key,
        role_map: ext.role_map.clone(),
    })
}

/// RSA first, then EC.
fn public_key(pem: &str) -> Result<(DecodingKey, Vec<Algorithm>), String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        let algs = vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
        return Ok((key, algs));
    }
    match DecodingKey::from_ec_pem(pem.as_bytes()) {
        Ok(key) => Ok((key, vec![Algorithm::ES256, Algorithm::ES384])),
        Err(e) => Err(format!(
            "JWT_PUBLIC_KEY_PEM is neither an RSA nor an EC public key: {e}"
        )),
    }
}

/// The user id of an external identity: a UUIDv5 of `"{iss}|{sub}"`, stable
/// for as long as the issuer keeps `sub`. Always namespaced, even when `sub`
/// is itself a UUID: an issuer's subject must never be able to name one of
/// our local users (or another issuer's).
pub fn external_user_id(issuer: &str, sub: &str) -> Uuid {
    Uuid::new_v5(
        &EXTERNAL_USER_NAMESPACE,
        format!("{issuer}|{sub}").as_bytes(),
    )
}

/// Our roles for an external token's `roles`, through the configured map.
fn mapped_roles(map: &[(String, String)], theirs: &[String]) -> Vec<String> {
    let mut ours: Vec<String> = map
        .iter()
        .filter(|(t, _)| theirs.contains(t))
        .map(|(_, o)| o.clone())
        .collect();
    ours.sort();
    ours.dedup();
    ours
}

fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

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
        }
    }

    /// Sign any claims (our [`Claims`], or other shapes in tests).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|e| format!("cannot sign an access token: {e}"))
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
mod tests {
    use super::*;
    use axum::http::Request;
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    /// A throwaway RSA key pair, only for these tests.
    const TEST_RSA_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZOJltWnXz/UZ9\nkoD4fa4nKK+uvY3GMe9uFplr57+dLO1bQUF9vMfZsBt0mphP7KlmoyIA/79n4J1a\nNojTC4cZFaY/v+H6aRU/7InWm05TON+fYk5a7W6eTvzs1aSp8U3op5LgPl6rFwwo\nstTBdGSymsvVSPIDeSEaEjMNuT8u0CGEjpQdSgttr5LsuZYogI0c8VY0Mgwm2pjE\n3yXLC+gzpsuw26MWDUXAxmo2KausSq9P8+FmqgLqEgfo+TJi/QiMHxdqQWDjUQgd\n+N41gBgEFcoeGrYECeY4wQvqou0ZCSNBSeBJIKHCgnktiCXhhxico1ug4BJBZXeQ\nQKBYWFKFAgMBAAECggEASPoAZaIiBYX+JBrPlGwY0ZQULacGFeNZ1ojmIz/Y+pOI\n7IMIXxdIpwRIvQxhBlzyboZ42pARPHNUOeYfYpO5X/6Le1haMZgTKQYtKrnDfycY\nzcGnpFmnM61CwMhnySZF79c4e3jIsj8MeTHXU2Tona5us2mN0QflTI53s3EcXnu0\nZ496Gk5wbXqx5Dpzoo3EhJVics2qJhSz1menXsc5EwQRvdnjK9WI348uzSo2iBNs\n+tURBYrAJUpIZD/AzPiqZenremlP6ZHFskTpcKRO/px86Zo4GRcthMPjhA4T4cx+\ncIMUO4RA3S/LlG3AMnV51aeuROvCQLRSqDCScthFowKBgQD2Cq375GbFWsHFiJpe\n1GWz+n1w9nmHgURIhufmOZw5lJeeLrkXWwZt0iRyY93yeuhk7N/a2/xL3hhBtuDg\nhgIhNUBCUMJkV/2JMwQ4YAwjfNykqsm2Gw2ia2oprRC01Kz4KEOBwpfW9PSKx3XI\npo2KgTdabNylxQtIzKGDLSYjkwKBgQDiA0ywpET/NSbjGwqhxNYx7r4EmOS7FoLt\nGiqA1PcoO3umYn7+JQXexgwu8Qsk5bcWIzi48OsfF29eZO1T9BbhSVgrHnOeAuis\npBTRTRfTfxuSi+9vJ5yVhKRVomx2IueKMKala7X0C4ZsP303RW5wZ3UNLYxiI1cL\ngrXjzTAwhwKBgFVdKzQj8Iw0itpQJM8V/htNo0wYF94tuVU4iSjVgCByL5CQQWOb\nD0X3DPIrOAwzHII3tQsoHAbujZfvLWJ43DBNW3gmsOtDpBGAA8zTdiKx5ZO0Nbva\n8wYRIopHI266AzEuNw3ESA4qetXTkkgFkUImxt+2uW9CSEH/zWHHvl3FAoGBAMAH\ns6pF+EWqYH8Ho9Hsz10fjx2S1ozLRLS1zbUmvVTWrWmiOGoxBLrSJNnhfel8sEHD\n7Vbdg7goDjzynd79/k6uJZaFShDQQeclhnaK/Rp63e92rBoSWu2DBKmp1mPNplL4\noS7dxHw1KqJgk0BZ4srobEClGajsg/HIvkhuN2qTAoGBAJhV3HJDTCI34GqKM/c5\nNEV9x0o4U30DS+PUmk7CeCnbqxjuzZpsO/uLAUek4fL8gbdOgYp/zKPwI6Iig6KE\n7qUfAUtCpSKvS67Kv9uv7UbVgot5qk1ko5PpZZPPO35zoOz8Ranrms9ightHXm77\nNLB0l/DRwsSUPBgOVRpYDdeK\n-----END PRIVATE KEY-----";
    const TEST_RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2TiZbVp18/1GfZKA+H2u\nJyivrr2NxjHvbhaZa+e/nSztW0FBfbzH2bAbdJqYT+ypZqMiAP+/Z+CdWjaI0wuH\nGRWmP7/h+mkVP+yJ1ptOUzjfn2JOWu1unk787NWkqfFN6KeS4D5eqxcMKLLUwXRk\nsprL1UjyA3khGhIzDbk/LtAhhI6UHUoLba+S7LmWKICNHPFWNDIMJtqYxN8lywvo\nM6bLsNujFg1FwMZqNimrrEqvT/PhZqoC6hIH6PkyYv0IjB8XakFg41EIHfjeNYAY\nBBXKHhq2BAnmOMEL6qLtGQkjQUngSSChwoJ5LYgl4YcYnKNboOASQWV3kECgWFhS\nhQIDAQAB\n-----END PUBLIC KEY-----";
    /// A throwaway P-256 key pair, only for these tests.
    const TEST_EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguwPS4RXVdejU6Rjl\nqswtY8kE1fY46yrJIoTY7LIOmTShRANCAARTQDmXQcHAQYc+kL0oK43Vr9DDLYV8\nJJi+SgN0MeIxGrCGcknUyCB8QHvzFMo+hAnorXhofniz31CcOp98gPjo\n-----END PRIVATE KEY-----";
    const TEST_EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEU0A5l0HBwEGHPpC9KCuN1a/Qwy2F\nfCSYvkoDdDHiMRqwhnJJ1MggfEB78xTKPoQJ6K14aH54s99QnDqffID46A==\n-----END PUBLIC KEY-----";

    fn config() -> JwtConfig {
        JwtConfig::new(Secret::new("our-test-secret-of-enough-length"))
    }

    fn with_external(key: ExternalKey) -> JwtConfig {
        JwtConfig {
            external: Some(ExternalIssuer {
                issuer: "https://idp.example".into(),
                audience: "chat-app".into(),
                key,
                role_map: vec![("idp-audit".into(), ROLE_AUDITOR.into())],
            }),
            ..config()
        }
    }

    #[test]
    fn external_roles_count_only_through_the_configured_map() {
        let secret = Secret::new("the-idp-shared-secret");
        let v = Verifier::new(&with_external(ExternalKey::Hs256(secret.clone()))).unwrap();
        let signer = TokenSigner::new(&JwtConfig::new(secret)).unwrap();
        let mut claims = external_claims("carol");
        claims["roles"] = json!(["auditor", "admin"]);
        let p = v.verify(&signer.sign(&claims).unwrap()).unwrap();
        assert!(
            p.roles.is_empty(),
            "an IdP's own `auditor` is not ours: {:?}",
            p.roles
        );
        claims["roles"] = json!(["idp-audit"]);
        let p = v.verify(&signer.sign(&claims).unwrap()).unwrap();
        assert_eq!(p.roles, vec![ROLE_AUDITOR.to_owned()]);
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn ours(user: Uuid, ttl: Duration) -> String {
        let signer = TokenSigner::new(&config()).unwrap();
        signer
            .sign(&signer.claims(user, vec![ROLE_AUDITOR.into()], now(), ttl))
            .unwrap()
    }

    fn external_claims(sub: &str) -> serde_json::Value {
        let iat = now().unix_timestamp();
        json!({
            "sub": sub, "iat": iat, "exp": iat + 300,
            "iss": "https://idp.example", "aud": ["chat-app", "other"],
            "preferred_username": "Alice Example",
        })
    }

    fn code(r: Result<Principal, ApiError>) -> &'static str {
        let e = r.unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        e.code
    }

    #[test]
    fn a_token_we_signed_names_its_user_and_roles() {
        let user = Uuid::now_v7();
        let v = Verifier::new(&config()).unwrap();
        let p = v.verify(&ours(user, Duration::minutes(15))).unwrap();
        assert_eq!(p.user_id, user);
        assert!(p.has_role(ROLE_AUDITOR));
        assert!(!p.external);
        assert_eq!(p.username_hint, None);
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let v = Verifier::new(&config()).unwrap();
        let token = ours(Uuid::now_v7(), Duration::seconds(-120));
        assert_eq!(code(v.verify(&token)), "token_expired");
    }

    #[test]
    fn a_token_expired_within_the_leeway_is_still_accepted() {
        let v = Verifier::new(&config()).unwrap();
        assert!(
            v.verify(&ours(Uuid::now_v7(), Duration::seconds(-5)))
                .is_ok()
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let other = TokenSigner::new(&JwtConfig::new(Secret::new("another-secret"))).unwrap();
        let token = other
            .sign(&other.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5)))
            .unwrap();
        let v = Verifier::new(&config()).unwrap();
        assert_eq!(code(v.verify(&token)), "invalid_token");
    }

    #[test]
    fn a_token_for_another_audience_is_invalid() {
        let signer = TokenSigner::new(&JwtConfig {
            audience: "someone-else".into(),
            ..config()
        })
        .unwrap();
        let token = signer
            .sign(&signer.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5)))
            .unwrap();
        let v = Verifier::new(&config()).unwrap();
        assert_eq!(code(v.verify(&token)), "invalid_token");
    }

    #[test]
    fn our_tokens_need_a_uuid_subject_and_garbage_is_invalid() {
        let signer = TokenSigner::new(&config()).unwrap();
        let mut claims = signer.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5));
        claims.sub = "alice".into();
        let v = Verifier::new(&config()).unwrap();
        assert_eq!(
            code(v.verify(&signer.sign(&claims).unwrap())),
            "invalid_token"
        );
        assert_eq!(code(v.verify("not.a.jwt")), "invalid_token");
        assert_eq!(code(v.verify("  ")), "missing_token");
    }

    #[test]
    fn an_external_hs256_token_maps_its_subject_to_a_stable_user_id() {
        let secret = Secret::new("the-idp-shared-secret");
        let v = Verifier::new(&with_external(ExternalKey::Hs256(secret.clone()))).unwrap();
        let signer = TokenSigner::new(&JwtConfig::new(secret)).unwrap();
        let p = v
            .verify(&signer.sign(&external_claims("auth0|42")).unwrap())
            .unwrap();
        assert!(p.external);
        assert_eq!(
            p.user_id,
            external_user_id("https://idp.example", "auth0|42")
        );
        assert_eq!(p.user_id.get_version_num(), 5);
        assert_eq!(p.username_hint.as_deref(), Some("Alice Example"));
        // A UUID subject is namespaced too: it can never name a local user.
        let id = Uuid::new_v4();
        let p = v
            .verify(&signer.sign(&external_claims(&id.to_string())).unwrap())
            .unwrap();
        assert_ne!(p.user_id, id);
        assert_eq!(
            p.user_id,
            external_user_id("https://idp.example", &id.to_string())
        );
        // Our own tokens still work next to the external issuer.
        assert!(
            v.verify(&ours(Uuid::now_v7(), Duration::minutes(1)))
                .is_ok()
        );
    }

    #[test]
    fn an_external_token_signed_with_our_secret_is_invalid() {
        let v = Verifier::new(&with_external(ExternalKey::Hs256(Secret::new("idp")))).unwrap();
        let ours = TokenSigner::new(&config()).unwrap();
        let token = ours.sign(&external_claims("bob")).unwrap();
        assert_eq!(code(v.verify(&token)), "invalid_token");
    }

    #[test]
    fn an_external_rs256_token_is_verified_with_the_public_key() {
        let v = Verifier::new(&with_external(ExternalKey::PublicPem(
            TEST_RSA_PUBLIC_PEM.into(),
        )))
        .unwrap();
        let key = EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE_PEM.as_bytes()).unwrap();
        let claims = external_claims("rsa-user");
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
        let p = v.verify(&token).unwrap();
        assert_eq!(
            p.user_id,
            external_user_id("https://idp.example", "rsa-user")
        );
        // The same claims signed HS256 with the public key as a secret: the
        // algorithm confusion attack is refused.
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(TEST_RSA_PUBLIC_PEM.as_bytes()),
        )
        .unwrap();
        assert_eq!(code(v.verify(&forged)), "invalid_token");
    }

    #[test]
    fn an_external_es256_token_is_verified_with_the_public_key() {
        let v = Verifier::new(&with_external(ExternalKey::PublicPem(
            TEST_EC_PUBLIC_PEM.into(),
        )))
        .unwrap();
        let key = EncodingKey::from_ec_pem(TEST_EC_PRIVATE_PEM.as_bytes()).unwrap();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::ES256), &external_claims("ec"), &key)
                .unwrap();
        assert!(v.verify(&token).unwrap().external);
    }

    #[test]
    fn a_pem_that_is_no_public_key_is_a_configuration_error() {
        let cfg = with_external(ExternalKey::PublicPem("-----BEGIN NONSENSE-----".into()));
        assert!(Verifier::new(&cfg).is_err());
    }

    async fn extract(req: Request<()>) -> Result<AuthUser, ApiError> {
        let state = Arc::new(Verifier::new(&config()).unwrap());
        let (mut parts, ()) = req.into_parts();
        <AuthUser as FromRequestParts<_>>::from_request_parts(&mut parts, &state).await
    }

    #[tokio::test]
    async fn the_extractor_reads_the_bearer_header_and_the_query_fallback() {
        let user = Uuid::now_v7();
        let token = ours(user, Duration::minutes(5));
        let req = Request::builder()
            .uri("/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap();
        assert_eq!(extract(req).await.unwrap().0.user_id, user);
        let req = Request::builder()
            .uri(format!("/v1/ws?x=1&access_token={token}"))
            .body(())
            .unwrap();
        assert_eq!(extract(req).await.unwrap().0.user_id, user);
    }

    #[tokio::test]
    async fn the_extractor_refuses_missing_and_non_bearer_credentials() {
        let req = Request::builder().uri("/v1/me").body(()).unwrap();
        assert_eq!(extract(req).await.unwrap_err().code, "missing_token");
        let req = Request::builder()
            .uri("/v1/me")
            .header(header::AUTHORIZATION, "Basic YWxpY2U6c2VjcmV0")
            .body(())
            .unwrap();
        assert_eq!(extract(req).await.unwrap_err().code, "invalid_token");
    }
}
