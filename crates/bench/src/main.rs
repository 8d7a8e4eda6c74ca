//! `chat-bench`: performance figures for docs/performance.md.
//!
//! `chat-bench append` measures single-event appends through the event store
//! from 1, 8 and 64 concurrent writers, next to a baseline measured in the
//! same run on the same server: the same number of plain
//! `BEGIN; INSERT …; COMMIT` transactions into an unindexed table. The ratio
//! (store ÷ baseline) is the figure to watch; ≥ 0.8 at 64 writers is the target.

mod append;
mod child;
mod commands;
mod e2e;
mod gateway;
mod load;
mod log;
mod media;
mod reads;
mod report;
mod scratch;
mod sealing;
mod seed;
mod socketio;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "chat-bench", about = "Benchmarks of the chat backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Event-store appends vs plain INSERT+COMMIT transactions.
    Append(append::AppendArgs),
    /// SendMessage over HTTP vs store appends; send latency vs history length.
    Commands(commands::CommandArgs),
    /// WebSocket gateway: idle-socket memory, group and direct fan-out vs tokio broadcast.
    Gateway(gateway::GatewayArgs),
    /// Channels: a post with 10 vs 100,000 subscribers; delivery to 10,000 sockets.
    Channels(gateway::channels::ChannelArgs),
    /// Push: notifications from a 1,000-member group with everyone offline.
    Push(gateway::push::PushArgs),
    /// Socket.IO send → receive next to /v1/ws at the same rate, same server.
    Socketio(socketio::SocketioArgs),
    /// Projection throughput vs COPY; query latency vs history length.
    Reads(reads::ReadArgs),
    /// Sealing personal data in events: appends/s and projector rows/s, on vs off.
    Sealing(sealing::SealingArgs),
    /// Kafka publisher throughput vs the store's own read rate.
    Kafka(log::KafkaArgs),
    /// `verify --all` rate over a large log.
    Verify(log::LogArgs),
    /// Media upload/download throughput vs a file copy; server peak RSS.
    Media(media::MediaArgs),
    /// The product end to end (HTTP send → WebSocket receive, groups,
    /// registrations, RSS) next to a naive durable chat server.
    E2e(e2e::E2eArgs),
    /// The naive server `e2e` measures against (run by `e2e` itself).
    #[command(hide = true)]
    BaselineServer(e2e::BaselineArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Append(args) => append::run(args).await,
        Command::Commands(args) => commands::run(args).await,
        Command::Gateway(args) => gateway::run(args).await,
        Command::Channels(args) => gateway::channels::run(args).await,
        Command::Push(args) => gateway::push::run(args).await,
        Command::Reads(args) => reads::run(args).await,
        Command::Socketio(args) => socketio::run(args).await,
        Command::Sealing(args) => sealing::run(args).await,
        Command::Kafka(args) => log::run_kafka(args).await,
        Command::Verify(args) => log::run_verify(args).await,
        Command::Media(args) => media::run(args).await,
        Command::E2e(args) => e2e::run(args).await,
        Command::BaselineServer(args) => e2e::serve_baseline(args).await,
    }
}
