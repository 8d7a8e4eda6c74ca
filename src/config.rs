//! What `App::build` is told: where to listen, the database, each part's
//! settings, which parts to run and where the event log lives. Filled from
//! the CLI (`cli.rs`), or by tests and benchmarks from [`AppConfig::dev`].

use std::net::SocketAddr;
use std::time::Duration;

use chat_command_api::CommandConfig;
use chat_common::config::Secret;
use chat_media::MediaConfig;
use chat_projector::kafka::KafkaConfig;
use chat_query_api::QueryConfig;

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
    /// Push notifications: allowed endpoints, VAPID, the notifier's delay.
    pub push: chat_push::PushConfig,
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
            push: chat_push::PushConfig::default(),
            queries: QueryConfig::unlimited(Duration::from_secs(5)),
            kafka: None,
            event_store: EventStoreBackend::default(),
            http: Default::default(),
            parts: Parts::ALL,
        }
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
