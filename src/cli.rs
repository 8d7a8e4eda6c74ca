//! Command-line interface: every setting is also an environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use chat_command_api::config::CommandArgs;
use chat_common::config::{DatabaseConfig, LogConfig, Secret};
use chat_media::MediaArgs;
use chat_projector::kafka::{KafkaConfig, Redaction};
use clap::{Args, Parser, Subcommand};

use crate::AppConfig;

#[derive(Debug, Parser)]
#[command(name = "chat", version, about = "Event-sourced chat backend")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process on one port.
    Serve(ServeArgs),
    /// Run the command API alone (auth and every command route).
    CommandApi(ServeArgs),
    /// Run the query API (and the audit routes) alone, over the read models.
    QueryApi(ServeArgs),
    /// Run the WebSocket gateway alone (several may run; with REDIS_URL they
    /// share typing and presence).
    Gateway(ServeArgs),
    /// Run the projector alone (with /healthz, /readyz, /metrics), or rebuild.
    Projector(ProjectorArgs),
    /// Create the database and run every migration, then exit.
    Migrate(MigrateArgs),
    /// Print events as JSON lines, from a global position (auditors, analysts).
    Replay(crate::audit_cli::ReplayArgs),
    /// Verify hash chains, or show a stream's state at a version or time.
    Audit(crate::audit_cli::AuditArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (port 0 picks a free port and logs it).
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// EventStoreDB/KurrentDB connection string, e.g.
    /// `kurrentdb://admin:changeit@localhost:2113?tls=false`. Set, the event
    /// log lives there instead of Postgres (binary built with the `kurrentdb`
    /// feature; start fails otherwise). Audit routes stay on Postgres.
    #[arg(long, env = "EVENTSTORE_URL", hide_env_values = true)]
    pub eventstore_url: Option<Secret>,
    #[command(flatten)]
    pub commands: CommandArgs,
    #[command(flatten)]
    pub media: MediaArgs,
    #[command(flatten)]
    pub push: chat_push::PushArgs,
    /// Origins a browser page may call the API from, comma-separated (none
    /// by default: browsers refuse cross-origin calls).
    #[arg(long, env = "CORS_ALLOW_ORIGINS", value_delimiter = ',')]
    pub cors_allow_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (when served behind TLS).
    #[arg(long, env = "HSTS")]
    pub hsts: bool,
    /// How long in-flight requests may finish once shutdown began, in seconds.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Seconds a connection may take to send a request's headers, from
    /// opening or from going idle; then it is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take (503 `request_timeout` after).
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Seconds a media upload may take.
    #[arg(long, env = "UPLOAD_TIMEOUT_SECS", default_value_t = 300)]
    pub upload_timeout_secs: u64,
    #[command(flatten)]
    pub queries: QueryArgs,
    #[command(flatten)]
    pub gateway: chat_gateway::GatewayArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub log: LogConfig,
}

/// The query side's pool, timeouts and per-user limits.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// How long a query with `min_position` waits for the read models, in ms.
    #[arg(long, env = "QUERY_WAIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub query_wait_timeout_ms: u64,
    /// Longest one query statement may run, in ms (Postgres
    /// `statement_timeout` on the queries' own pool).
    #[arg(long, env = "QUERY_STATEMENT_TIMEOUT_MS", default_value_t = 5_000)]
    pub query_statement_timeout_ms: u64,
    /// Connections of the queries' own pool (commands keep theirs).
    #[arg(long, env = "QUERY_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub query_database_max_connections: u32,
    /// Queries per second per user, per node.
    #[arg(long, env = "RATE_QUERIES_PER_SEC", default_value_t = 20.0)]
    pub rate_queries_per_sec: f64,
    /// Queries a user may send at once before the rate applies.
    #[arg(long, env = "RATE_QUERIES_BURST", default_value_t = 60)]
    pub rate_queries_burst: u32,
    /// Queries one user may have in flight at once, per node.
    #[arg(long, env = "QUERIES_IN_FLIGHT_PER_USER", default_value_t = 8)]
    pub queries_in_flight_per_user: usize,
}

impl QueryArgs {
    pub fn config(&self) -> chat_query_api::QueryConfig {
        use std::time::Duration;
        chat_query_api::QueryConfig {
            wait_timeout: Duration::from_millis(self.query_wait_timeout_ms),
            statement_timeout: Duration::from_millis(self.query_statement_timeout_ms),
            max_connections: self.query_database_max_connections,
            limits: chat_query_api::limit::QueryLimitConfig {
                per_second: self.rate_queries_per_sec,
                burst: self.rate_queries_burst,
                in_flight: self.queries_in_flight_per_user,
            },
        }
    }
}

/// The Kafka publisher (runs with the projector when `KAFKA_BROKERS` is set).
#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, `host:port[,host:port…]`; unset = no publishing.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// The topic every event goes to (key = stream id).
    #[arg(long, env = "KAFKA_TOPIC", default_value = "chat.events.v1")]
    pub kafka_topic: String,
    /// Partitions of the topic when the publisher creates it.
    #[arg(long, env = "KAFKA_PARTITIONS", default_value_t = 6)]
    pub kafka_partitions: i32,
    #[arg(long, env = "KAFKA_REPLICATION", default_value_t = 1)]
    pub kafka_replication: i32,
    /// Replace message text with its length and a salted sha256.
    #[arg(long, env = "KAFKA_REDACT_BODIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub kafka_redact_bodies: bool,
    /// Salt of the redaction hash (keep it secret; change it and hashes change).
    #[arg(
        long,
        env = "KAFKA_REDACT_SALT",
        default_value = "",
        hide_env_values = true
    )]
    pub kafka_redact_salt: String,
    /// How long one record may wait for the broker before the batch is re-sent.
    #[arg(long, env = "KAFKA_MESSAGE_TIMEOUT_MS", default_value_t = 30_000)]
    pub kafka_message_timeout_ms: u64,
}

impl KafkaArgs {
    pub fn config(&self) -> Option<KafkaConfig> {
        let brokers = self
            .kafka_brokers
            .as_deref()
            .filter(|b| !b.trim().is_empty())?;
        let mut c = KafkaConfig::new(brokers);
        c.topic = self.kafka_topic.clone();
        c.partitions = self.kafka_partitions;
        c.replication = self.kafka_replication;
        c.message_timeout = std::time::Duration::from_millis(self.kafka_message_timeout_ms);
        if self.kafka_redact_bodies {
            c.redaction = Redaction::Bodies {
                salt: self.kafka_redact_salt.clone(),
            };
        }
        Some(c)
    }
}

#[derive(Debug, Args)]
pub struct ProjectorArgs {
    #[command(subcommand)]
    pub action: Option<ProjectorAction>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum ProjectorAction {
    /// Replay from position 0 into fresh tables and swap them in while the
    /// old ones keep serving: `users`, `chats`, `messages` or `all`.
    Rebuild { name: String },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub log: LogConfig,
}

impl ServeArgs {
    /// The app's settings; fails when `EVENTSTORE_URL` is set in a binary
    /// built without the `kurrentdb` feature.
    pub fn app_config(&self, parts: crate::app::Parts) -> anyhow::Result<AppConfig> {
        let event_store = crate::app::EventStoreBackend::from_url(self.eventstore_url.as_ref())?;
        let command = self.commands.config().map_err(anyhow::Error::msg)?;
        let media = self
            .media
            .config(&command.auth.jwt.secret, self.commands.is_dev())
            .map_err(anyhow::Error::msg)?;
        Ok(AppConfig {
            bind_addr: self.bind_addr,
            database_url: self.database.database_url.clone(),
            database_max_connections: self.database.database_max_connections,
            command,
            media,
            push: self.push.config().map_err(anyhow::Error::msg)?,
            queries: self.queries.config(),
            kafka: self.kafka.config(),
            event_store,
            http: chat_common::http::HttpConfig {
                cors_origins: self.cors_allow_origins.clone(),
                hsts: self.hsts,
                header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                request_timeout: Duration::from_secs(self.request_timeout_secs),
                upload_timeout: Duration::from_secs(self.upload_timeout_secs),
            },
            parts,
        })
    }

    /// The gateway's settings (it shares `REDIS_URL` with the command side).
    pub fn gateway_config(&self) -> chat_gateway::GatewayConfig {
        self.gateway.config(self.commands.redis_url.clone())
    }
}
