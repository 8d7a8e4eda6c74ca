//! `chat replay` and `chat audit`: the auditors' command line, straight on
//! the event store (no server needed).

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use chat_audit::At;
use chat_common::config::DatabaseConfig;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{Direction, EventStore, Upcasters};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Start after this global position (exclusive).
    #[arg(long, default_value_t = 0)]
    pub from_position: u64,
    /// Stop at this global position (inclusive).
    #[arg(long)]
    pub to_position: Option<u64>,
    /// Only this stream (e.g. chat-<uuid>).
    #[arg(long)]
    pub stream: Option<String>,
    #[command(flatten)]
    pub database: DatabaseConfig,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    #[command(flatten)]
    pub database: DatabaseConfig,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute hash chains; exit status 1 if any is broken.
    Verify {
        /// Every stream.
        #[arg(long, conflicts_with = "stream")]
        all: bool,
        /// One stream.
        stream: Option<String>,
    },
    /// A stream's aggregate state as of a version or an RFC 3339 time.
    State {
        stream: String,
        #[arg(long)]
        at: Option<At>,
    },
}

async fn open(db: &DatabaseConfig) -> anyhow::Result<Arc<PgEventStore>> {
    let pool = postgres::connect(db.database_url.expose(), 4)
        .await
        .context("connecting to Postgres")?;
    let config = PgStoreConfig {
        listen: false,
        ..PgStoreConfig::default()
    };
    Ok(Arc::new(PgEventStore::new(pool, Upcasters::new(), config)))
}

/// Print events as JSON lines (full envelopes), in global or stream order.
pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let store = open(&args.database).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let to = args.to_position.unwrap_or(u64::MAX);
    match &args.stream {
        Some(stream) => {
            let mut from = 1;
            loop {
                let page = store
                    .read_stream(stream, from, Direction::Forward, 1_000)
                    .await?;
                for e in page
                    .iter()
                    .filter(|e| e.position > args.from_position && e.position <= to)
                {
                    serde_json::to_writer(&mut out, e)?;
                    out.write_all(b"\n")?;
                }
                match page.last() {
                    Some(last) if page.len() == 1_000 && last.position < to => {
                        from = last.version + 1
                    }
                    _ => break,
                }
            }
        }
        None => {
            let mut after = args.from_position;
            'pages: loop {
                let page = store.read_all(after, 1_000).await?;
                for e in &page {
                    if e.position > to {
                        break 'pages;
                    }
                    serde_json::to_writer(&mut out, e)?;
                    out.write_all(b"\n")?;
                    after = e.position;
                }
                if page.len() < 1_000 {
                    break;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Run an audit subcommand; `Ok(false)` means the log failed verification.
pub async fn audit(args: AuditArgs) -> anyhow::Result<bool> {
    let store = open(&args.database).await?;
    let mut out = std::io::stdout().lock();
    match args.command {
        AuditCommand::Verify { all, stream } => {
            let valid = match (all, stream) {
                (_, Some(stream)) => {
                    let r = store.verify_stream(&stream).await?;
                    serde_json::to_writer_pretty(&mut out, &r)?;
                    r.valid
                }
                (true, None) => {
                    let r = store.verify_all().await?;
                    serde_json::to_writer_pretty(&mut out, &r)?;
                    r.valid
                }
                (false, None) => anyhow::bail!("name a stream or pass --all"),
            };
            writeln!(out)?;
            Ok(valid)
        }
        AuditCommand::State { stream, at } => {
            let state = chat_audit::state_json(store.as_ref(), &stream, at.unwrap_or(At::Latest))
                .await?
                .with_context(|| format!("{stream} is not a chat-<uuid> or user-<uuid> stream"))?;
            serde_json::to_writer_pretty(&mut out, &state)?;
            writeln!(out)?;
            Ok(true)
        }
    }
}
