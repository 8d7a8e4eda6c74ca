//! The command side's shared state and configuration.

use std::sync::Arc;

use axum::extract::FromRef;
use chat_common::auth::Verifier;
use chat_domain::Policy;
use chat_store::EventStore;
use sqlx::PgPool;

use crate::idempotency::{IdempotencyConfig, IdempotencyStore};
use crate::pipeline::AggregateCache;
use crate::ratelimit::{RateLimitConfig, RateLimiter};
use chat_auth::{AuthConfig, AuthService};

/// Everything the command side needs to start.
#[derive(Debug, Clone)]
pub struct CommandConfig {
    pub auth: AuthConfig,
    pub rate_limits: RateLimitConfig,
    pub idempotency: IdempotencyConfig,
    pub policy: Policy,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Streams kept in the aggregate cache.
    pub cache_capacity: usize,
}

/// Shared by every command route. Cheap to clone.
#[derive(Clone)]
pub struct CommandState {
    pub pool: PgPool,
    pub store: Arc<dyn EventStore>,
    pub auth: Arc<AuthService>,
    pub verifier: Arc<Verifier>,
    pub limiter: Arc<RateLimiter>,
    pub idempotency: Arc<IdempotencyStore>,
    pub cache: Arc<AggregateCache>,
    pub policy: Arc<Policy>,
    pub max_body_bytes: usize,
}

impl FromRef<CommandState> for Arc<Verifier> {
    fn from_ref(s: &CommandState) -> Self {
        s.verifier.clone()
    }
}

impl FromRef<CommandState> for Arc<AuthService> {
    fn from_ref(s: &CommandState) -> Self {
        s.auth.clone()
    }
}

impl CommandState {
    /// Start the command side's services on an already migrated database
    /// (event store and [`crate::migrator`]).
    pub async fn build(
        pool: PgPool,
        store: Arc<dyn EventStore>,
        config: CommandConfig,
    ) -> Result<CommandState, String> {
        let limiter = Arc::new(RateLimiter::new(&config.rate_limits).await?);
        let auth = AuthService::new(pool.clone(), store.clone(), config.auth.clone())?
            .with_login_limits(limiter.clone());
        let verifier = auth.verifier();
        let idempotency = Arc::new(IdempotencyStore::new(
            pool.clone(),
            config.idempotency.clone(),
        ));
        idempotency.spawn_cleanup(std::time::Duration::from_secs(600));
        let cache = Arc::new(AggregateCache::new(config.cache_capacity));
        crate::pipeline::follow::spawn(cache.clone(), store.clone());
        Ok(CommandState {
            pool,
            store,
            auth: Arc::new(auth),
            verifier,
            limiter,
            idempotency,
            cache,
            policy: Arc::new(config.policy),
            max_body_bytes: config.max_body_bytes,
        })
    }
}

impl CommandConfig {
    /// Development defaults: a random token key, in-process rate limits.
    pub fn dev() -> CommandConfig {
        let auth = AuthConfig::dev();
        CommandConfig {
            auth,
            rate_limits: RateLimitConfig::default(),
            idempotency: IdempotencyConfig::default(),
            // Tests and benchmarks build groups up to the largest cap.
            policy: Policy {
                max_group_members: chat_domain::policy::MAX_GROUP_MEMBERS,
                ..Policy::default()
            },
            max_body_bytes: 64 * 1024,
            cache_capacity: 50_000,
        }
    }
}
