//! Building and running the app: `chat serve` runs every part in one
//! process on one port; `chat command-api`, `chat query-api`,
//! `chat projector` and `chat gateway` run one part each (several may run
//! side by side).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use chat_audit::AuditState;
use chat_command_api::CommandState;
use chat_common::auth::Verifier;
use chat_common::http::standard_layers;
use chat_common::openapi::utoipa::openapi::OpenApi;
use chat_common::read_models::{self, CheckpointWatch};
use chat_gateway::{Gateway, GatewayConfig};
use chat_media::MediaApp;
use chat_projector::ProjectorConfig;
use chat_query_api::QueryState;
use chat_store::Upcasters;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::sealing::Sealer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

pub use crate::config::{AppConfig, EventStoreBackend, Parts};
use crate::ops;
pub use crate::state::{AppState, migrate, open_event_store};

/// How long in-flight requests may finish once shutdown began.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound, ready-to-run app.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    stop_projector: watch::Sender<bool>,
    stop_gateway: watch::Sender<bool>,
    shutdown_grace: Duration,
    header_read_timeout: Duration,
}

/// The event store's settings: personal data in events is sealed under
/// the master key (`docs/decisions/0018-erasure.md`).
pub fn store_config(auth: &chat_auth::AuthConfig) -> PgStoreConfig {
    PgStoreConfig {
        sealer: Some(Sealer::new(Arc::new(chat_auth::master_key(auth)))),
        ..PgStoreConfig::default()
    }
}

/// After a master key rotation: every data key wrapped again under the
/// new key, in the background (`MASTER_KEY_PREVIOUS` can go once logged).
fn spawn_rewrap(store: Arc<PgEventStore>) {
    let Some(sealer) = store.sealer().cloned() else {
        return;
    };
    tokio::spawn(async move {
        match postgres::rewrap_keys(store.pool(), &sealer).await {
            Ok(n) => tracing::info!(
                rewrapped = n,
                "event data keys are under the current MASTER_KEY"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot re-wrap the event data keys"),
        }
    });
}

impl App {
    /// Create the database if missing, run migrations, start the parts and
    /// bind the listener (port 0 picks a free port). The gateway, if it is
    /// one of the parts, runs with its defaults (in process, no Redis).
    pub async fn build(config: AppConfig) -> anyhow::Result<App> {
        Self::build_with_gateway(config, GatewayConfig::default()).await
    }

    /// [`App::build`] with the gateway's settings.
    pub async fn build_with_gateway(
        mut config: AppConfig,
        gateway_config: GatewayConfig,
    ) -> anyhow::Result<App> {
        let url = config.database_url.expose();
        postgres::ensure_database(url)
            .await
            .context("creating the database")?;
        let pool = postgres::connect(url, config.database_max_connections)
            .await
            .context("connecting to Postgres")?;
        migrate(&pool).await?;
        config
            .command
            .auth
            .settle_master_key(&pool)
            .await
            .context("reading the development master key")?;
        let store = Arc::new(PgEventStore::new(
            pool.clone(),
            Upcasters::new(),
            store_config(&config.command.auth),
        ));
        let event_store = open_event_store(&config.event_store, &store).await?;
        if config.command.auth.master_key_previous.is_some() {
            spawn_rewrap(store.clone());
        }
        let parts = config.parts;

        let (stop_projector, stopping) = watch::channel(false);
        if parts.projector {
            // Push starts from now, not from the whole history.
            let head = event_store.head_position().await?;
            chat_push::projection::start_at_head(&pool, head)
                .await
                .context("starting the push notifier")?;
        }
        let projector = parts.projector.then(|| {
            let mut projections = chat_projector::all_projections();
            // Not a read model: never rebuilt (that would notify again).
            projections.push(Arc::new(chat_push::PushProjection));
            chat_projector::spawn(
                pool.clone(),
                event_store.clone(),
                projections,
                ProjectorConfig::default(),
                stopping.clone(),
            )
        });
        let publisher = match (&config.kafka, parts.projector) {
            (Some(kafka), true) => Some(chat_projector::kafka::spawn_publisher(
                pool.clone(),
                event_store.clone(),
                kafka.clone(),
                stopping,
            )),
            _ => None,
        };

        // Commands issue tokens; the other parts only verify them.
        let commands = if parts.commands {
            Some(
                CommandState::build(pool.clone(), event_store.clone(), config.command.clone())
                    .await
                    .map_err(anyhow::Error::msg)
                    .context("starting the command side")?,
            )
        } else {
            None
        };
        let verifier = match &commands {
            Some(c) => c.verifier.clone(),
            None => Arc::new(Verifier::new(&config.command.auth.jwt).map_err(anyhow::Error::msg)?),
        };
        // Sessions signed out on any node: their access tokens are refused
        // here too, for as long as one may still be alive.
        let token_life = config.command.auth.access_ttl.unsigned_abs()
            + std::time::Duration::from_secs(chat_common::auth::LEEWAY_SECS);
        chat_auth::sessions::watch_revocations(
            pool.clone(),
            verifier.revoked().clone(),
            token_life,
            stop_projector.subscribe(),
        );

        let (stop_gateway, gateway_stopping) = watch::channel(false);
        let mut gateway_config = gateway_config;
        gateway_config.exact_resume &= config.event_store == EventStoreBackend::Postgres;
        let gateway = if parts.gateway {
            Some(
                Gateway::start(
                    pool.clone(),
                    event_store.clone(),
                    verifier.clone(),
                    gateway_config,
                    gateway_stopping,
                )
                .await
                .context("starting the gateway")?,
            )
        } else {
            None
        };

        // The read models' one watch for this process's parts (a listener
        // connection of the pool): Socket.IO counts, media downloads and the
        // push notifier wait on it.
        let watch = CheckpointWatch::spawn(pool.clone(), &read_models::QUERIED);
        let media = match &commands {
            Some(c) => Some(
                MediaApp::start(c.clone(), config.media.clone(), watch.clone())
                    .map_err(anyhow::Error::msg)
                    .context("opening the media store")?,
            ),
            None => None,
        };
        // Uploads nobody attached (or nobody references any more) go away.
        if let Some(media) = &media {
            chat_media::spawn_cleanup(media.clone(), stop_projector.subscribe());
        }
        let presence: Arc<dyn chat_push::Presence> = match &gateway {
            Some(g) => Arc::new(GatewayPresence(g.clone())),
            None => Arc::new(chat_push::Nobody),
        };
        let push = chat_push::PushApp::start(
            pool.clone(),
            verifier.clone(),
            config.push.clone(),
            presence,
            watch.clone(),
        )
        .await
        .map_err(anyhow::Error::msg)
        .context("starting push notifications")?;
        if parts.projector {
            push.spawn_notifier(stop_projector.subscribe());
        }

        let state = AppState {
            pool: pool.clone(),
            store: store.clone(),
            event_store: event_store.clone(),
            commands: commands.clone(),
            media: media.clone(),
            projector,
            publisher,
            gateway: gateway.clone(),
        };
        // The document is built from the same handler lists as the routes.
        let mut doc = OpenApi::default();
        let mut router = Router::new();
        let mut command_router = None;
        if let Some(commands) = commands {
            let (routes, command_doc) = chat_command_api::router_with_openapi(commands);
            doc.merge(command_doc);
            command_router = Some(routes.clone());
            router = router.merge(routes);
        }
        // Media routes stream their bodies: outside the commands' JSON body
        // limit and idempotency layer (which buffers bodies).
        if let Some(media) = media {
            let (routes, media_doc) = chat_media::router_with_openapi(media);
            doc.merge(media_doc);
            router = router.merge(routes);
        }
        if parts.commands {
            let (routes, push_doc) = chat_push::router_with_openapi(push);
            doc.merge(push_doc);
            router = router.merge(routes);
        }
        if parts.queries {
            let q = &config.queries;
            let reads = postgres::connect_reads(url, q.max_connections, q.statement_timeout)
                .await
                .context("connecting the queries' pool")?;
            let queries = QueryState::new(reads, verifier.clone(), q.wait_timeout)
                .with_limits(q.limits)
                .with_media_urls(config.media.signer.clone());
            let (routes, query_doc) = chat_query_api::router_with_openapi(queries);
            doc.merge(query_doc);
            router = router.merge(routes).merge(chat_audit::router(AuditState {
                store: store.clone(),
                verifier,
            }));
        }
        if let Some(gateway) = &gateway {
            let (routes, gateway_doc) = gateway.router_with_openapi();
            doc.merge(gateway_doc);
            router = router.merge(routes);
            // Delivery acks from sockets become commands in process.
            if let Some(commands) = &command_router {
                gateway.accept_commands(commands.clone());
            }
            // Socket.IO clients act through the command side's router.
            if let Some(commands) = command_router {
                let (socketio, _) = chat_socketio::router(chat_socketio::Shared {
                    gateway: gateway.clone(),
                    commands,
                    store: event_store.clone(),
                    pool: pool.clone(),
                    checkpoints: watch.clone(),
                    media_urls: Some(config.media.signer.clone()),
                    keepalive: gateway.config().ping_interval,
                });
                router = router.merge(socketio);
            }
        }
        // The web client and the API docs (a browser's view of the same API).
        router = router.merge(chat_web::router());
        let ops_routes =
            ops::router(state.clone(), doc).context("rendering the OpenAPI document")?;
        let router = standard_layers(router.merge(ops_routes), &config.http);
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("binding {}", config.bind_addr))?;
        Ok(App {
            listener,
            router,
            state,
            stop_projector,
            stop_gateway,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            header_read_timeout: config.http.header_read_timeout,
        })
    }

    /// How long connections may stay open once shutdown began; past it they
    /// are dropped (a client that never finishes its request cannot hold
    /// the process up).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> App {
        self.shutdown_grace = grace;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves, then finish in-flight requests and
    /// stop the projector between batches, its checkpoint committed.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        info!(addr = %self.local_addr(), "listening");
        // WebSocket sessions are told to close as soon as shutdown starts
        // (they outlive their upgraded HTTP connection).
        let stop_gateway = self.stop_gateway.clone();
        let (stop_http, stopping) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_gateway.send(true);
            let _ = stop_http.send(true);
        });
        let mut began = stopping.clone();
        let serving = crate::serve::serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            stopping,
        );
        let grace = self.shutdown_grace;
        let deadline = async move {
            crate::serve::stopped(&mut began).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serving => {}
            () = deadline => {
                tracing::warn!(?grace, "connections still open after the shutdown grace; dropping them");
            }
        }
        let _ = self.stop_gateway.send(true);
        let _ = self.stop_projector.send(true);
        for handle in [&self.state.projector, &self.state.publisher]
            .into_iter()
            .flatten()
        {
            handle.join().await;
        }
        // Connections dropped at the deadline may still hold pool
        // connections: the pool gets the same grace to close.
        if tokio::time::timeout(grace, self.state.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at shutdown; leaving them");
        }
        info!("stopped");
        Ok(())
    }
}

/// The gateway answers the notifier's "is this user connected?".
struct GatewayPresence(Gateway);

#[async_trait::async_trait]
impl chat_push::Presence for GatewayPresence {
    async fn connected(&self, user: uuid::Uuid) -> bool {
        self.0.connected(user).await
    }
}
