//! # chat-query-api
//!
//! Owns the read side's HTTP surface: every query route of the API contract
//! over the projector's read models (`rm_users`, `rm_chats`, `rm_messages`
//! schemas). It depends on that schema, never on the projector's code.
//!
//! * Authorization is in the SQL: a user sees chats they are or were in, and
//!   a chat's history only inside their visible range (after they joined,
//!   up to when they left, after what they cleared, minus what they hid),
//!   the bounds of the domain's `visibility::Window`, the rule the socket
//!   and its resume apply too.
//! * Each user's queries are limited per node ([`limit`]), and run on a
//!   pool of their own whose statements time out, so no user's queries can
//!   starve the commands' connections.
//! * Lists are keyset-paginated with opaque cursors, stable while new
//!   messages arrive.
//! * `min_position` on any query waits (bounded) until every projection has
//!   passed that position: read-your-writes for a client that just sent a
//!   command ([`wait`]).
//! * Every answer is a type ([`answers`]) the document is generated from.

pub mod answers;
mod cursor;
pub mod limit;
mod routes;
pub mod wait;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use chat_common::auth::Verifier;
use sqlx::PgPool;

/// Shared by every query route.
/// How the query side runs (`QUERY_*` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryConfig {
    /// How long a `min_position` wait may take before a 503.
    pub wait_timeout: Duration,
    /// Longest one query statement may run (`statement_timeout`).
    pub statement_timeout: Duration,
    /// Connections of the queries' own pool.
    pub max_connections: u32,
    pub limits: limit::QueryLimitConfig,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            wait_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            max_connections: 10,
            limits: limit::QueryLimitConfig::default(),
        }
    }
}

impl QueryConfig {
    /// Waits up to `wait_timeout`, and per-user limits out of the way: for
    /// tests and benchmarks, which poll and hammer queries on purpose.
    pub fn unlimited(wait_timeout: Duration) -> Self {
        Self {
            wait_timeout,
            limits: limit::QueryLimitConfig {
                per_second: 1e9,
                burst: u32::MAX,
                in_flight: usize::MAX,
            },
            ..Self::default()
        }
    }
}

#[derive(Clone)]
pub struct QueryState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    /// How long a `min_position` wait may take before answering 503.
    pub wait_timeout: Duration,
    pub positions: wait::Positions,
    /// Signs the media URLs in message pages; without it, media carry no `url`.
    pub media_urls: Option<chat_common::media_url::MediaUrlSigner>,
    pub limits: limit::QueryLimits,
}

impl FromRef<QueryState> for Arc<Verifier> {
    fn from_ref(s: &QueryState) -> Self {
        s.verifier.clone()
    }
}

impl QueryState {
    pub fn new(pool: PgPool, verifier: Arc<Verifier>, wait_timeout: Duration) -> Self {
        let positions = wait::Positions::start(pool.clone());
        QueryState {
            pool,
            verifier,
            wait_timeout,
            positions,
            media_urls: None,
            limits: limit::QueryLimits::new(limit::QueryLimitConfig::default()),
        }
    }

    pub fn with_limits(mut self, config: limit::QueryLimitConfig) -> Self {
        self.limits = limit::QueryLimits::new(config);
        self
    }

    /// Put short-lived signed URLs on the media of message pages.
    pub fn with_media_urls(mut self, signer: chat_common::media_url::MediaUrlSigner) -> Self {
        self.media_urls = Some(signer);
        self
    }
}

/// Every query route, behind the `min_position` wait, with its OpenAPI
/// document (built from the same handler list).
pub fn router_with_openapi(state: QueryState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes::routes().split_for_parts();
    query_conventions(&mut doc);
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wait::min_position,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::per_user,
        ))
        .with_state(state);
    (router, doc)
}

/// What every query shares in the document: bearer auth and the problems of
/// tokens, the `min_position` wait and the database.
fn query_conventions(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    const SHARED: &[&str] = &[
        "invalid_min_position",
        "rate_limited",
        "request_timeout",
        "projection_lagging",
        "internal_error",
        "service_unavailable",
    ];
    for item in doc.paths.paths.values_mut() {
        if let Some(op) = item.get.as_mut() {
            op.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            let ext = op.extensions.get_or_insert_with(Default::default);
            let mut codes: Vec<serde_json::Value> = ext
                .get("x-error-codes")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            codes.extend(
                SHARED
                    .iter()
                    .chain(&chat_common::openapi::TOKEN_CODES)
                    .map(|c| serde_json::Value::from(*c)),
            );
            ext.insert("x-error-codes".to_owned(), serde_json::Value::Array(codes));
        }
    }
}
