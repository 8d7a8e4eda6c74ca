//! Command-line interface: every setting is also an environment variable.

use std::net::SocketAddr;

use chat_command_api::config::CommandArgs;
use chat_common::config::{DatabaseConfig, LogConfig};
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
    #[command(flatten)]
    pub commands: CommandArgs,
    /// How long a query with `min_position` waits for the read models, in ms.
    #[arg(long, env = "QUERY_WAIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub query_wait_timeout_ms: u64,
    #[command(flatten)]
    pub gateway: chat_gateway::GatewayArgs,
    #[command(flatten)]
    pub log: LogConfig,
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
    pub fn app_config(&self, parts: crate::app::Parts) -> anyhow::Result<AppConfig> {
        Ok(AppConfig {
            bind_addr: self.bind_addr,
            database_url: self.database.database_url.clone(),
            database_max_connections: self.database.database_max_connections,
            command: self.commands.config().map_err(anyhow::Error::msg)?,
            query_wait_timeout: std::time::Duration::from_millis(self.query_wait_timeout_ms),
            parts,
        })
    }

    /// The gateway's settings (it shares `REDIS_URL` with the command side).
    pub fn gateway_config(&self) -> chat_gateway::GatewayConfig {
        self.gateway.config(self.commands.redis_url.clone())
    }
}
