//! The running app's shared parts, and how they come to be: every crate's
//! migrations in order, and the event log the parts share. The operational
//! routes (`ops.rs`) read this state; `app.rs` builds it.

use std::sync::Arc;

use anyhow::Context;
use chat_command_api::CommandState;
use chat_gateway::Gateway;
use chat_media::MediaApp;
use chat_projector::ProjectorHandle;
use chat_store::EventStore;
use chat_store::postgres::{self, PgEventStore};
use sqlx::PgPool;

use crate::config::EventStoreBackend;

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
    chat_push::migrator()
        .run(pool)
        .await
        .context("running push migrations")?;
    Ok(())
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
            let store = chat_store::kurrent::KurrentEventStore::connect(
                url.expose(),
                chat_store::Upcasters::new(),
            )
            .await
            .context("connecting to EventStoreDB/KurrentDB (EVENTSTORE_URL)")?;
            tracing::info!("event store: EventStoreDB/KurrentDB (audit routes stay on Postgres)");
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "kurrentdb"))]
        EventStoreBackend::Kurrent(_) => anyhow::bail!(
            "EVENTSTORE_URL is set, but this binary was built without the kurrentdb feature"
        ),
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
