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
use chat_command_api::{CommandConfig, CommandState};
use chat_common::auth::Verifier;
use chat_common::config::Secret;
use chat_common::http::standard_layers;
use chat_common::openapi::utoipa::openapi::OpenApi;
use chat_gateway::{Gateway, GatewayConfig};
use chat_media::{MediaApp, MediaConfig};
use chat_projector::kafka::KafkaConfig;
use chat_projector::{ProjectorConfig, ProjectorHandle};
use chat_query_api::{QueryConfig, QueryState};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, Upcasters};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::ops;

/// Every crate's migrations, in dependency order (each ignores the others').
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    postgres::migrate(pool)
        .await
        .context("running event-store migrations")?;
    chat_auth::migrator()
        .run(pool)
        .await
        .context("running auth migrations")?;
    chat_command_api::migrator()
        .run(pool)
        .await
        .context("running command-side migrations")?;
    // Before the read models': it takes over the last-seen times they held.
    chat_gateway::migrator()
        .run(pool)
        .await
        .context("running gateway migrations")?;
    chat_projector::migrate(pool)
        .await
        .context("running read-model migrations")?;
    Ok(())
}

/// Where the event log lives. The audit routes and `chat audit` always read
/// the Postgres store: the hash chain is a Postgres-store feature (ADR 0006).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EventStoreBackend {
    #[default]
    Postgres,
    /// EventStoreDB/KurrentDB at this connection string (`EVENTSTORE_URL`,
    /// cargo feature `kurrentdb`).
    Kurrent(Secret),
}

impl EventStoreBackend {
    /// Postgres when `url` is unset or blank; KurrentDB otherwise, which
    /// needs a binary built with the `kurrentdb` feature (never ignored).
    pub fn from_url(url: Option<&Secret>) -> anyhow::Result<Self> {
        match url.filter(|u| !u.expose().trim().is_empty()) {
            None => Ok(EventStoreBackend::Postgres),
            Some(_) if !cfg!(feature = "kurrentdb") => anyhow::bail!(
                "EVENTSTORE_URL is set, but this binary was built without the kurrentdb \
                 feature (build with `--features kurrentdb`, or unset EVENTSTORE_URL)"
            ),
            Some(u) => Ok(EventStoreBackend::Kurrent(u.clone())),
        }
    }
}

/// The store the command side, projector, Kafka publisher and gateway use.
pub async fn open_event_store(
    backend: &EventStoreBackend,
    postgres: &Arc<PgEventStore>,
) -> anyhow::Result<Arc<dyn EventStore>> {
    match backend {
        EventStoreBackend::Postgres => Ok(postgres.clone()),
        #[cfg(feature = "kurrentdb")]
        EventStoreBackend::Kurrent(url) => {
            let store =
                chat_store::kurrent::KurrentEventStore::connect(url.expose(), Upcasters::new())
                    .await
                    .context("connecting to EventStoreDB/KurrentDB (EVENTSTORE_URL)")?;
            info!("event store: EventStoreDB/KurrentDB (audit routes stay on Postgres)");
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "kurrentdb"))]
        EventStoreBackend::Kurrent(_) => anyhow::bail!(
            "EVENTSTORE_URL is set, but this binary was built without the kurrentdb feature"
        ),
    }
}

/// Which parts this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub commands: bool,
    /// Query and audit routes.
    pub queries: bool,
    pub projector: bool,
    /// The WebSocket gateway (`GET /v1/ws`).
    pub gateway: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        commands: true,
        queries: true,
        projector: true,
        gateway: true,
    };
}

/// Everything `App::build` needs; filled from the CLI or by tests.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub bind_addr: SocketAddr,
    pub database_url: Secret,
    pub database_max_connections: u32,
    pub command: CommandConfig,
    /// Media storage, limits, signed URLs and cleanup (with the commands).
    pub media: MediaConfig,
    /// The query side: its pool, statement timeout, waits and limits.
    pub queries: QueryConfig,
    /// The Kafka publisher, run with the projector part when set.
    pub kafka: Option<KafkaConfig>,
    /// Where the event log lives (Postgres unless `EVENTSTORE_URL`).
    pub event_store: EventStoreBackend,
    /// CORS origins and security headers.
    pub http: chat_common::http::HttpConfig,
    pub parts: Parts,
}

impl AppConfig {
    /// Development settings on port 0 against `database_url`, every part,
    /// tokens signed with `jwt_secret` (and media URLs with a key derived
    /// from it), no query limits: what tests and benchmarks start from.
    pub fn dev(database_url: Secret, jwt_secret: Secret) -> AppConfig {
        let mut command = CommandConfig::dev();
        command.auth = chat_auth::AuthConfig::new(chat_common::auth::JwtConfig::new(jwt_secret));
        let media = MediaConfig::dev_for(&command.auth.jwt.secret);
        AppConfig {
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            database_max_connections: 10,
            command,
            media,
            queries: QueryConfig::unlimited(Duration::from_secs(5)),
            kafka: None,
            event_store: EventStoreBackend::default(),
            http: Default::default(),
            parts: Parts::ALL,
        }
    }
}

/// Shared state of the running app.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The Postgres event store: the audit routes (hash chain) use it, and
    /// it is the event log unless `EVENTSTORE_URL` selects KurrentDB.
    pub store: Arc<PgEventStore>,
    /// The event log the command side, projector, publisher and gateway
    /// use: `store`, or KurrentDB (see [`EventStoreBackend`]).
    pub event_store: Arc<dyn EventStore>,
    pub commands: Option<CommandState>,
    /// Uploads and downloads, next to the commands.
    pub media: Option<MediaApp>,
    pub projector: Option<ProjectorHandle>,
    /// The Kafka publisher (its position and lag, like a projection's).
    pub publisher: Option<ProjectorHandle>,
    pub gateway: Option<Gateway>,
}

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

impl App {
    /// Create the database if missing, run migrations, start the parts and
    /// bind the listener (port 0 picks a free port). The gateway, if it is
    /// one of the parts, runs with its defaults (in process, no Redis).
    pub async fn build(config: AppConfig) -> anyhow::Result<App> {
        Self::build_with_gateway(config, GatewayConfig::default()).await
    }

    /// [`App::build`] with the gateway's settings.
    pub async fn build_with_gateway(
        config: AppConfig,
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
        let store = Arc::new(PgEventStore::new(
            pool.clone(),
            Upcasters::new(),
            PgStoreConfig::default(),
        ));
        let event_store = open_event_store(&config.event_store, &store).await?;
        let parts = config.parts;

        let (stop_projector, stopping) = watch::channel(false);
        let projector = parts.projector.then(|| {
            chat_projector::spawn(
                pool.clone(),
                event_store.clone(),
                chat_projector::all_projections(),
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

        let media = match &commands {
            Some(c) => Some(
                MediaApp::start(c.clone(), config.media.clone())
                    .map_err(anyhow::Error::msg)
                    .context("opening the media store")?,
            ),
            None => None,
        };
        // Uploads nobody attached (or nobody references any more) go away.
        if let Some(media) = &media {
            chat_media::spawn_cleanup(media.clone(), stop_projector.subscribe());
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
        if let Some(commands) = commands {
            let (routes, command_doc) = chat_command_api::router_with_openapi(commands);
            doc.merge(command_doc);
            router = router.merge(routes);
        }
        // Media routes stream their bodies: outside the commands' JSON body
        // limit and idempotency layer (which buffers bodies).
        if let Some(media) = media {
            let (routes, media_doc) = chat_media::router_with_openapi(media);
            doc.merge(media_doc);
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
            router = router.merge(gateway.router());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventstore_url_selects_kurrentdb_or_fails_without_the_feature() {
        assert_eq!(
            EventStoreBackend::from_url(None).unwrap(),
            EventStoreBackend::Postgres
        );
        let blank = Secret::new("  ");
        assert_eq!(
            EventStoreBackend::from_url(Some(&blank)).unwrap(),
            EventStoreBackend::Postgres
        );
        let url = Secret::new("kurrentdb://admin:changeit@localhost:2113?tls=false");
        let chosen = EventStoreBackend::from_url(Some(&url));
        if cfg!(feature = "kurrentdb") {
            assert_eq!(chosen.unwrap(), EventStoreBackend::Kurrent(url));
        } else {
            let err = chosen.unwrap_err().to_string();
            assert!(err.contains("built without the kurrentdb feature"), "{err}");
        }
    }
}
