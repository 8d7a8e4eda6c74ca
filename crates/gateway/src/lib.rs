//! # chat-gateway: the real-time WebSocket gateway
//!
//! Owns `GET /v1/ws` and everything behind it:
//!
//! * **one tail per node** ([`tail`]): a single subscription to the event
//!   store's global log; the [`hub`] routes each event to the sockets of the
//!   users it concerns, with membership kept in memory from the events
//!   themselves ([`members`], [`route`]), so adds and removals take effect at
//!   their exact positions; start-up reads a consistent snapshot of the
//!   `chats` read model and its checkpoint;
//! * **exact resume** ([`replay`]): `subscribe` with `after_position`
//!   replays the user's events from the store through indexed lookups, then
//!   goes live without gap or duplicate at the seam;
//! * **back-pressure** ([`session`]): a bounded queue per socket, filled
//!   with `try_send`; a socket that falls behind is closed with 4008 and
//!   resumes later; ping/pong keepalive reaps dead sockets; token expiry
//!   closes with 4001;
//! * **typing and presence** ([`signals`]): ephemeral, never in the event
//!   store; in process, or over Redis (keys with TTLs, pub/sub) so several
//!   nodes see each other's; when a user's last socket closes, last seen
//!   is written to the gateway's own table (`gateway.last_seen`, [`migrator`]);
//! * **delivery acks** ([`acks`]): a client's `delivered` frame becomes the
//!   `POST /v1/chats/{id}/delivered` command, run in process through the
//!   command router ([`commands`], which Socket.IO's actions share).
//!
//! See `docs/decisions/0005-gateway.md`.

/// The gateway's table (`gateway.last_seen`). Run before the read models'
/// migrations: it takes over the last-seen times they used to hold. Other
/// crates migrate the same database, so unknown versions are ignored.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

pub mod acks;
pub mod client;
pub mod commands;
pub mod config;
pub mod hub;
pub mod idle;
pub mod members;
pub mod presence;
pub mod protocol;
pub mod replay;
pub mod route;
pub mod session;
pub mod signals;
pub mod status;
pub mod tail;
pub mod view;
pub mod ws;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use chat_common::ApiError;
use chat_common::auth::{Principal, Verifier};
use chat_store::EventStore;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

pub use config::{GatewayArgs, GatewayConfig};

use crate::hub::Hub;
use crate::members::Members;
use crate::signals::dispatch::{self, Signals, Timing};
use crate::signals::{Backend, BackendError, local::LocalBackend, redis::RedisBackend};
use crate::status::Statuses;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("reading the membership snapshot: {0}")]
    Snapshot(#[from] sqlx::Error),
    #[error(transparent)]
    Signals(#[from] BackendError),
}

struct Inner {
    hub: Arc<Hub>,
    pool: PgPool,
    store: Arc<dyn EventStore>,
    verifier: Arc<Verifier>,
    signals: Signals,
    config: GatewayConfig,
    node_id: Uuid,
    stop: watch::Receiver<bool>,
    /// The statuses users chose, as this node's tail knows them.
    statuses: Statuses,
    /// The command side's router, where this node also runs commands
    /// (`chat serve`): delivery acks become commands through it.
    commands: OnceLock<Router>,
}

/// A running gateway node. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl Gateway {
    /// Read the membership snapshot, start the tail and the signal
    /// dispatcher; both stop when `stop` turns true (as do the sessions).
    pub async fn start(
        pool: PgPool,
        store: Arc<dyn EventStore>,
        verifier: Arc<Verifier>,
        config: GatewayConfig,
        stop: watch::Receiver<bool>,
    ) -> Result<Gateway, GatewayError> {
        let (members, position) = Members::snapshot(&pool).await?;
        let (statuses, changed) = Statuses::load(&pool).await?;
        let hub = Arc::new(Hub::new(members, position));
        let (backend, rx): (Arc<dyn Backend>, _) = match &config.redis_url {
            Some(url) => {
                let (tx, rx) = signals::queue();
                let b = RedisBackend::connect(
                    url,
                    &config.redis_prefix,
                    config.presence_ttl,
                    config.typing_ttl,
                    tx,
                )
                .await?;
                (Arc::new(b), rx)
            }
            None => {
                let (b, rx) = LocalBackend::new(config.presence_ttl);
                (Arc::new(b), rx)
            }
        };
        let timing = Timing {
            typing_ttl: config.typing_ttl,
            presence_ttl: config.presence_ttl,
        };
        tokio::spawn(dispatch::run(
            hub.clone(),
            backend.clone(),
            pool.clone(),
            rx,
            statuses.clone(),
            changed,
            timing,
            stop.clone(),
        ));
        tokio::spawn(tail::run(
            hub.clone(),
            statuses.clone(),
            store.clone(),
            position,
            stop.clone(),
        ));
        Ok(Gateway {
            inner: Arc::new(Inner {
                hub,
                signals: Signals::new(backend, pool.clone()),
                pool,
                store,
                verifier,
                config,
                node_id: Uuid::now_v7(),
                stop,
                commands: OnceLock::new(),
                statuses,
            }),
        })
    }

    /// `GET /v1/ws` and `GET /v1/presence`.
    pub fn router(&self) -> Router {
        self.router_with_openapi().0
    }

    /// The routes, and the document of the one that is plain HTTP
    /// (`/v1/presence`; a WebSocket has no OpenAPI operation).
    pub fn router_with_openapi(&self) -> (Router, utoipa::openapi::OpenApi) {
        let (router, mut doc) = utoipa_axum::router::OpenApiRouter::new()
            .routes(utoipa_axum::routes!(presence::presence))
            .split_for_parts();
        chat_common::openapi::for_each_operation(&mut doc, |_, op| {
            op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                chat_common::openapi::BEARER,
                Vec::<String>::new(),
            )]);
        });
        let router = router
            .route("/v1/ws", get(ws::upgrade))
            .with_state(self.clone());
        (router, doc)
    }

    /// Run sockets' commands (delivery acks) through the command side's
    /// router, in process. A node without it refuses acks with
    /// `delivery_unavailable`; its clients call the HTTP route instead.
    pub fn accept_commands(&self, router: Router) {
        let _ = self.inner.commands.set(router);
    }

    pub(crate) fn command_router(&self) -> Option<Router> {
        self.inner.commands.get().cloned()
    }

    /// Open sockets on this node.
    pub fn connections(&self) -> usize {
        self.inner.hub.connections()
    }

    /// Whether `user` has a live socket on any node (Redis) or this one:
    /// the push notifier leaves them alone.
    pub async fn connected(&self, user: Uuid) -> bool {
        self.inner.signals.live(user).await != protocol::Status::Offline
    }

    /// Whether `user` is a member of `chat` now (as this node's tail knows).
    pub fn is_member(&self, chat: Uuid, user: Uuid) -> bool {
        self.inner.hub.is_member(chat, user)
    }

    /// The newest position routed by this node's tail.
    pub fn position(&self) -> u64 {
        self.inner.hub.routed()
    }

    pub(crate) fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Verify a token: who it names and when it expires.
    pub fn authenticate(&self, token: &str) -> Result<(Principal, Option<Instant>), ApiError> {
        let who = self.inner.verifier.verify(token)?;
        Ok((who, ws::deadline(token)))
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub(crate) fn statuses(&self) -> &Statuses {
        &self.inner.statuses
    }

    pub(crate) fn signals(&self) -> &Signals {
        &self.inner.signals
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub(crate) fn store(&self) -> Arc<dyn EventStore> {
        self.inner.store.clone()
    }

    pub(crate) fn node_id(&self) -> Uuid {
        self.inner.node_id
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.stop.clone()
    }

    pub(crate) async fn head_position(&self) -> Option<u64> {
        self.inner.store.head_position().await.ok()
    }
}
