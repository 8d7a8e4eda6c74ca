//! # chat-auth
//!
//! Owns the built-in authentication: credentials, refresh tokens and
//! access tokens, and their HTTP surface (`/v1/auth/*`). The command side
//! uses it to give external issuers' users a profile; the binary mounts its
//! routes behind the per-IP limit of the command side.
//!
//! * [`AuthService::register`] / [`AuthService::login`] check credentials
//!   (Argon2id, [`password`]) and open a refresh-token family;
//! * [`AuthService::refresh`] rotates a refresh token, and presenting a rotated
//!   one again revokes its whole family ([`tokens`]);
//! * [`AuthService::ensure_profile`] gives users of an external issuer their
//!   `user-{id}` stream on first sight ([`profile`]);
//! * each family is a session ([`sessions`]): listed, signed out one by one
//!   or all others, and refused at once on every node through the
//!   verifier's revoked set; a password change signs the others out;
//! * an account is deleted for good (`DELETE /v1/me`, [`erase`]): its
//!   keys are destroyed with `UserErased`, and its credentials, sessions,
//!   idempotency answers and snapshot go;
//! * [`routes`] is the HTTP surface (`/v1/auth/*`, `/v1/me/sessions`,
//!   `/v1/me/password`, `DELETE /v1/me`).
//!
//! Secrets live in the `auth_credentials`, `refresh_tokens` and
//! `auth_sessions` tables ([`migrator`]), never in events. Access tokens are
//! verified by [`chat_common::auth::Verifier`], which every service shares.

mod account;
mod credentials;
mod email;
mod erase;
pub mod export;
pub mod mail;
mod mail_routes;
mod mfa;
mod mfa_routes;
mod password;
mod profile;
mod routes;
pub mod sessions;
mod tokens;

use std::sync::Arc;

use axum::http::StatusCode;
use chat_common::ApiError;
use chat_common::auth::{JwtConfig, TokenSigner, Verifier};
use chat_common::config::Secret;
use chat_common::sealing::{KeyWrap, MasterKey};
use chat_domain::DomainError;
use chat_store::{EventStore, StoreError};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

pub use routes::{auth_conventions, routes};

/// The auth tables (`auth_credentials`, `refresh_tokens`, `auth_sessions`). Other crates
/// migrate the same database, so unknown versions are ignored.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Limits on login attempts per account, kept by whoever limits the rest
/// of the traffic (the command side's rate limiter, in Redis or in process),
/// so one budget covers every node.
#[async_trait::async_trait]
pub trait LoginLimits: Send + Sync {
    /// `Err` (429, or 503 when the limits cannot be checked) refuses the
    /// attempt before any password is hashed.
    async fn check_login(&self, username: &str) -> Result<(), ApiError>;
}

/// Settings of the built-in auth.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub jwt: JwtConfig,
    /// Lifetime of access tokens (15 minutes by default).
    pub access_ttl: time::Duration,
    /// Lifetime of each refresh token (30 days by default); every rotation
    /// issues a token with a fresh lifetime.
    pub refresh_ttl: time::Duration,
    /// Where account mail goes (`SMTP_URL`, `MAIL_FROM`).
    pub mail: mail::MailConfig,
    /// Seals secrets at rest (`MASTER_KEY`): TOTP secrets and the data
    /// keys of events. Unset, a key derived from the JWT secret (rotating
    /// that then loses what it sealed), or in development the database's
    /// own ([`dev_master_key`]).
    pub master_key: Option<Secret>,
    /// The master key before the last rotation, to open what it sealed.
    pub master_key_previous: Option<Secret>,
    /// The JWT secret is random (development without `JWT_SECRET`): a key
    /// derived from it would not survive a restart.
    pub random_secret: bool,
}

impl AuthConfig {
    pub const DEFAULT_ACCESS_TTL: time::Duration = time::Duration::minutes(15);
    pub const DEFAULT_REFRESH_TTL: time::Duration = time::Duration::days(30);

    /// Default lifetimes around `jwt`.
    pub fn new(jwt: JwtConfig) -> Self {
        Self {
            jwt,
            access_ttl: Self::DEFAULT_ACCESS_TTL,
            refresh_ttl: Self::DEFAULT_REFRESH_TTL,
            mail: mail::MailConfig::default(),
            master_key: None,
            master_key_previous: None,
            random_secret: false,
        }
    }

    /// For development when `JWT_SECRET` is unset: a random secret, so every
    /// token dies with the process. Logs a warning saying so.
    pub fn dev() -> Self {
        tracing::warn!(
            "JWT_SECRET is not set: using a random secret; tokens will not survive a restart \
             and other processes cannot verify them"
        );
        Self {
            random_secret: true,
            ..Self::new(JwtConfig::new(Secret::new(tokens::random_token())))
        }
    }

    /// In development without `MASTER_KEY` or `JWT_SECRET`: the master key
    /// kept in the database ([`dev_master_key`]), so that what was sealed
    /// (message texts, names, TOTP secrets) still opens after a restart.
    /// A deployment sets `MASTER_KEY` (production refuses to start without
    /// `JWT_SECRET`), and this does nothing.
    pub async fn settle_master_key(&mut self, pool: &PgPool) -> Result<(), sqlx::Error> {
        if self.master_key.is_none() && self.random_secret {
            tracing::warn!(
                "neither MASTER_KEY nor JWT_SECRET is set: sealing under a master key kept in \
                 the database (development only: a copy of the database then opens everything \
                 sealed whose key was not destroyed)"
            );
            self.master_key = Some(dev_master_key(pool).await?);
        }
        Ok(())
    }
}

/// The development master key: made once, kept in `auth_dev_master_key`.
pub async fn dev_master_key(pool: &PgPool) -> Result<Secret, sqlx::Error> {
    sqlx::query("INSERT INTO auth_dev_master_key (secret) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(tokens::random_token())
        .execute(pool)
        .await?;
    let secret: String = sqlx::query_scalar("SELECT secret FROM auth_dev_master_key")
        .fetch_one(pool)
        .await?;
    Ok(Secret::new(secret))
}

/// What register, login and refresh answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub user_id: Uuid,
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; rotates on every refresh.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Registers, logs in, rotates and revokes. Shared as `Arc<AuthService>`.
pub struct AuthService {
    pool: PgPool,
    store: Arc<dyn EventStore>,
    config: AuthConfig,
    signer: TokenSigner,
    verifier: Arc<Verifier>,
    /// Per-account login limits ([`AuthService::with_login_limits`]).
    limiter: Option<Arc<dyn LoginLimits>>,
    mailer: mail::Mailer,
    /// Seals secrets at rest (TOTP).
    keys: Arc<dyn KeyWrap>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The master key that seals secrets at rest (TOTP secrets, the data keys
/// of events): `MASTER_KEY`, else one derived from `JWT_SECRET`.
pub fn master_key(config: &AuthConfig) -> MasterKey {
    let current = config.master_key.as_ref().unwrap_or(&config.jwt.secret);
    MasterKey::new(current, config.master_key_previous.as_ref())
}

impl AuthService {
    /// Fails when the JWT configuration is unusable (empty secret, bad PEM).
    /// The auth tables must be migrated ([`migrator`]).
    pub fn new(
        pool: PgPool,
        store: Arc<dyn EventStore>,
        config: AuthConfig,
    ) -> Result<Self, String> {
        let verifier = Arc::new(Verifier::new(&config.jwt)?);
        let signer = TokenSigner::new(&config.jwt)?;
        if config.access_ttl <= time::Duration::ZERO || config.refresh_ttl <= time::Duration::ZERO {
            return Err("token lifetimes must be positive".into());
        }
        let mailer = mail::Mailer::new(&config.mail)?;
        if config.master_key.is_none() {
            tracing::warn!(
                "MASTER_KEY is not set: TOTP secrets and the keys of personal data in events \
                 are sealed with a key derived from JWT_SECRET, and rotating JWT_SECRET would \
                 lose them"
            );
        }
        let keys = Arc::new(master_key(&config));
        Ok(Self {
            pool,
            store,
            config,
            signer,
            verifier,
            limiter: None,
            mailer,
            keys,
        })
    }

    /// Limit login attempts per account with `limiter` (next to the per-IP
    /// limit of the auth routes).
    pub fn with_login_limits(mut self, limiter: Arc<dyn LoginLimits>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The verifier of the tokens this service issues (and external ones).
    pub fn verifier(&self) -> Arc<Verifier> {
        self.verifier.clone()
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }
}

fn db_error(e: sqlx::Error) -> ApiError {
    ApiError::unavailable(&e)
}

/// A write that broke a unique constraint is a 409 `code` about `field`;
/// any other failure is the database's.
fn taken(e: sqlx::Error, code: &'static str, detail: String, field: &str) -> ApiError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            ApiError::new(StatusCode::CONFLICT, code, detail).with_field(field)
        }
        e => db_error(e),
    }
}

fn store_error(e: StoreError) -> ApiError {
    if e.is_transient() {
        ApiError::unavailable(&e)
    } else {
        ApiError::internal(&e)
    }
}

fn domain_error(e: DomainError) -> ApiError {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let api = ApiError::new(status, e.code, e.detail);
    match e.field {
        Some(field) => api.with_field(field),
        None => api,
    }
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}
