//! Configuration pieces shared by the binaries. Every setting is an env var
//! and a `--flag` (clap), as the API contract's Configuration table lists.

use std::fmt;

use clap::{Args, ValueEnum};

/// A value that must never be printed (keys, passwords). `Debug` and
/// `Display` show `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where the database lives. The URL may carry a password, so it is a secret.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Postgres URL for read models, and for the event store unless
    /// EVENTSTORE_URL is set. The database is created if missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/chat",
        hide_default_value = false
    )]
    pub database_url: Secret,
    /// Most connections this process opens to Postgres.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable, for development.
    #[default]
    Pretty,
    /// One JSON object per line, for production log pipelines.
    Json,
}

/// Logging settings (`RUST_LOG` is read by the filter itself).
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// Shortest secret accepted outside development.
pub const MIN_SECRET_BYTES: usize = 32;

/// Values the docs and examples show: never a real secret.
const PLACEHOLDERS: [&str; 4] = [
    "change-me-to-32-random-bytes-in-production",
    "change-me-too-32-random-bytes",
    "changeme",
    "secret",
];

/// A secret fit for production: long enough, and not a documented example.
pub fn check_secret(name: &str, secret: &Secret) -> Result<(), String> {
    let value = secret.expose();
    if PLACEHOLDERS.contains(&value) {
        return Err(format!(
            "{name} is a documented placeholder; set it to at least {MIN_SECRET_BYTES} random bytes \
             (or run with --dev / CHAT_ENV=dev)"
        ));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "{name} is {} bytes; at least {MIN_SECRET_BYTES} are needed \
             (or run with --dev / CHAT_ENV=dev)",
            value.len()
        ));
    }
    Ok(())
}
