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
use chat_command_api::openapi::utoipa::openapi::OpenApi;
use chat_command_api::{CommandConfig, CommandState};
use chat_common::auth::Verifier;
use chat_common::config::Secret;
use chat_common::http::standard_layers;
use chat_gateway::{Gateway, GatewayConfig};
use chat_projector::{ProjectorConfig, ProjectorHandle};
use chat_query_api::QueryState;
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
    chat_command_api::migrator()
        .run(pool)
        .await
        .context("running command-side migrations")?;
    chat_projector::migrate(pool)
        .await
        .context("running read-model migrations")?;
    Ok(())
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
    /// How long a query's `min_position` wait may take before a 503.
    pub query_wait_timeout: Duration,
    pub parts: Parts,
}

/// Shared state of the running app.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub store: Arc<PgEventStore>,
    pub commands: Option<CommandState>,
    pub projector: Option<ProjectorHandle>,
    pub gateway: Option<Gateway>,
}

/// A bound, ready-to-run app.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    stop_projector: watch::Sender<bool>,
    stop_gateway: watch::Sender<bool>,
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
        let parts = config.parts;

        let (stop_projector, stopping) = watch::channel(false);
        let projector = parts.projector.then(|| {
            let dyn_store: Arc<dyn EventStore> = store.clone();
            chat_projector::spawn(
                pool.clone(),
                dyn_store,
                chat_projector::all_projections(),
                ProjectorConfig::default(),
                stopping,
            )
        });

        // Commands issue tokens; the other parts only verify them.
        let commands = if parts.commands {
            Some(
                CommandState::build(pool.clone(), store.clone(), config.command.clone())
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
        let gateway = if parts.gateway {
            let dyn_store: Arc<dyn EventStore> = store.clone();
            Some(
                Gateway::start(
                    pool.clone(),
                    dyn_store,
                    Upcasters::new(),
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

        // Uploads nobody attached (or nobody references any more) go away.
        if let Some(commands) = &commands {
            chat_command_api::media::spawn_cleanup(commands.clone(), stop_projector.subscribe());
        }

        let state = AppState {
            pool: pool.clone(),
            store: store.clone(),
            commands: commands.clone(),
            projector,
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
        if parts.queries {
            let queries =
                QueryState::new(pool.clone(), verifier.clone(), config.query_wait_timeout)
                    .with_media_urls(config.command.media.signer.clone());
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
        let router = standard_layers(router.merge(ops_routes));
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("binding {}", config.bind_addr))?;
        Ok(App {
            listener,
            router,
            state,
            stop_projector,
            stop_gateway,
        })
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
        // Connection info feeds the per-IP rate limit of the auth routes.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // WebSocket sessions are told to close as soon as shutdown starts
        // (they outlive their upgraded HTTP connection).
        let stop_gateway = self.stop_gateway.clone();
        let shutdown = async move {
            shutdown.await;
            let _ = stop_gateway.send(true);
        };
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        let _ = self.stop_gateway.send(true);
        let _ = self.stop_projector.send(true);
        if let Some(projector) = &self.state.projector {
            projector.join().await;
        }
        self.state.pool.close().await;
        info!("stopped");
        served
    }
}
