//! `chat-bench e2e` (issue 10): the product measured from outside, as a
//! user would, next to a naive durable chat server in the same run.
//!
//! Both servers run as child processes on fresh databases and are driven by
//! the same client ([`client`]): users registered over HTTP (20 at a time),
//! accepted direct chats between pairs, one WebSocket per user, HTTP sends,
//! and send → receive latency measured at the other side's socket. The
//! phases, in order, on each server:
//!
//! 1. registrations (peak RSS after them);
//! 2. idle sends, one at a time: the HTTP answer and send → receive;
//! 3. open loop at each rate over the pairs (p50/p99/max, lost);
//! 4. closed loop: `closed_clients` senders, each waiting for its answer;
//! 5. a group with every member connected: `group_senders` closed-loop
//!    senders, send → last member;
//! 6. closed-loop sends until `total_messages` were sent, then peak RSS.

mod baseline;
pub(crate) mod client;
mod phases;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

pub use baseline::{BaselineArgs, serve as serve_baseline};
use client::{Client, Flavor};
use phases::Figures;

use crate::child::{Server, ServerArgs, chat_bin, chat_env};
use crate::report::ms;
use crate::scratch::Scratch;

#[derive(Debug, Clone, Args)]
pub struct E2eArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Users registered over HTTP (each gets a socket).
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Concurrent registrations.
    #[arg(long, default_value_t = 20)]
    register_concurrency: usize,
    /// Direct pairs the direct-chat loads run over.
    #[arg(long, default_value_t = 200)]
    pairs: usize,
    /// Members of the group (at most `users`).
    #[arg(long, default_value_t = 1_000)]
    group_members: usize,
    /// Open-loop rates, messages per second over all pairs.
    #[arg(long, value_delimiter = ',', default_value = "200,500,1000,2000")]
    rates: Vec<u32>,
    /// Seconds of each open-loop, closed-loop and group run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Idle sends, one at a time.
    #[arg(long, default_value_t = 50)]
    idle_sends: usize,
    /// Concurrent senders of the closed loop.
    #[arg(long, default_value_t = 64)]
    closed_clients: usize,
    /// Concurrent senders into the group.
    #[arg(long, default_value_t = 8)]
    group_senders: usize,
    /// Messages sent in all before the final peak RSS is read.
    #[arg(long, default_value_t = 100_000)]
    total_messages: usize,
    /// Run only one server: `chat` or `baseline`.
    #[arg(long)]
    only: Option<String>,
}

pub async fn run(args: E2eArgs) -> anyhow::Result<()> {
    let mut figures = Vec::new();
    for flavor in [Flavor::Baseline, Flavor::Chat] {
        let wanted = match (&args.only, flavor) {
            (None, _) => true,
            (Some(o), Flavor::Chat) => o == "chat",
            (Some(o), Flavor::Baseline) => o == "baseline",
        };
        if wanted {
            figures.push(run_one(&args, flavor).await?);
        }
    }
    print_report(&args, &figures);
    Ok(())
}

async fn run_one(args: &E2eArgs, flavor: Flavor) -> anyhow::Result<Figures> {
    let what = match flavor {
        Flavor::Chat => "e2e_chat",
        Flavor::Baseline => "e2e_base",
    };
    let scratch = Scratch::create(&args.target.server, what).await?;
    let server = match flavor {
        Flavor::Chat => {
            let bin = chat_bin(args.target.chat_bin.as_ref())?;
            Server::spawn(&bin, &["serve"], chat_env(&scratch.url))?
        }
        Flavor::Baseline => Server::spawn(
            &std::env::current_exe()?,
            &["baseline-server", "--database-url", &scratch.url],
            std::iter::empty::<(&str, &str)>(),
        )?,
    };
    eprintln!("== {} on {}", flavor.name(), server.addr);
    let client = Arc::new(Client::new(flavor, server.base())?);
    let result = phases::measure(args, &client, server.pid()).await;
    tokio::task::spawn_blocking(move || drop(server)).await?;
    scratch.drop_database().await?;
    result
}

fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 {
        "–".into()
    } else {
        format!("{:.2}", a / b)
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn print_report(args: &E2eArgs, figs: &[Figures]) {
    let (base, chat) = match figs {
        [b, c] => (Some(b), Some(c)),
        [one] if one.flavor == Flavor::Chat => (None, Some(one)),
        [one] => (Some(one), None),
        _ => (None, None),
    };
    println!(
        "# End to end: HTTP send → the other side's WebSocket ({} users, {} pairs, {} s runs)",
        args.users, args.pairs, args.seconds
    );
    println!();
    println!("| what | chat serve | naive baseline | ratio (chat ÷ baseline) | target |");
    println!("|---|---:|---:|---:|---|");
    let both = |f: &dyn Fn(&Figures) -> f64| (chat.map(f), base.map(f));
    let row = |what: &str, (c, b): (Option<f64>, Option<f64>), unit: &str, target: &str| {
        let fmt = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2}{unit}"));
        let r = match (c, b) {
            (Some(c), Some(b)) => ratio(c, b),
            _ => "–".into(),
        };
        println!("| {what} | {} | {} | {r} | {target} |", fmt(c), fmt(b));
    };
    let msf = |d: Duration| secs(d) * 1e3;
    row(
        "idle send, HTTP answer p50",
        both(&|f| msf(f.idle_ack.p50)),
        " ms",
        "≤ 2 ms",
    );
    row(
        "idle send → receive p50",
        both(&|f| msf(f.idle_e2e.p50)),
        " ms",
        "",
    );
    for (i, rate) in args.rates.iter().enumerate() {
        let t50 = if *rate == 500 { "≤ 1.5×" } else { "" };
        let t99 = if *rate == 500 { "≤ 2×" } else { "" };
        row(
            &format!("{rate} msg/s open loop, p50"),
            both(&|f| f.open.get(i).map_or(0.0, |o| msf(o.e2e.p50))),
            " ms",
            t50,
        );
        row(
            &format!("{rate} msg/s open loop, p99"),
            both(&|f| f.open.get(i).map_or(0.0, |o| msf(o.e2e.p99))),
            " ms",
            t99,
        );
        row(
            &format!("{rate} msg/s open loop, max"),
            both(&|f| f.open.get(i).map_or(0.0, |o| msf(o.e2e.max))),
            " ms",
            "",
        );
        row(
            &format!("{rate} msg/s open loop, delivered msgs/s"),
            both(&|f| f.open.get(i).map_or(0.0, |o| o.e2e.per_sec())),
            "",
            "",
        );
        row(
            &format!("{rate} msg/s open loop, lost"),
            both(&|f| f.open.get(i).map_or(0.0, |o| o.lost as f64)),
            "",
            "0",
        );
    }
    row(
        &format!("closed loop ({} senders), msgs/s", args.closed_clients),
        both(&|f| f.closed.rate),
        "",
        "≥ 1.0×",
    );
    row(
        "closed loop, send → receive p50",
        both(&|f| msf(f.closed.e2e.p50)),
        " ms",
        "",
    );
    row(
        &format!(
            "group of {} all connected ({} senders), sends/s",
            args.group_members, args.group_senders
        ),
        both(&|f| f.group.rate),
        "",
        "≥ 0.5× direct",
    );
    row(
        "group, send → last member p99",
        both(&|f| msf(f.group.e2e.p99)),
        " ms",
        "",
    );
    row(
        &format!(
            "direct closed loop with {} senders, msgs/s",
            args.group_senders
        ),
        both(&|f| f.direct_like_group.rate),
        "",
        "",
    );
    row(
        "group sends ÷ direct sends (same senders)",
        both(&|f| f.group.rate / f.direct_like_group.rate.max(1e-9)),
        "",
        "≥ 0.5",
    );
    row(
        "lost (closed loop + group + fill)",
        both(&|f| (f.closed.lost + f.direct_like_group.lost + f.group.lost + f.fill_lost) as f64),
        "",
        "0",
    );
    row(
        &format!(
            "{} registrations ({} at a time), per second",
            args.users, args.register_concurrency
        ),
        both(&|f| args.users as f64 / secs(f.registration).max(1e-9)),
        "",
        "",
    );
    let mib = |k: u64| k as f64 / 1024.0;
    row(
        "server RSS at start",
        both(&|f| mib(f.rss_start_kib)),
        " MiB",
        "",
    );
    row(
        "server peak RSS after the registrations",
        both(&|f| mib(f.hwm_registered_kib)),
        " MiB",
        "",
    );
    row("messages sent in all", both(&|f| f.sent as f64), "", "");
    row(
        "server peak RSS after all of them",
        both(&|f| mib(f.hwm_end_kib)),
        " MiB",
        "≤ 200 MiB",
    );
    row(
        "server RSS at the end",
        both(&|f| mib(f.rss_end_kib)),
        " MiB",
        "",
    );
    println!();
    if let Some(c) = chat {
        println!(
            "chat serve, HTTP answer p50/p99 ms: idle {}/{}; open loop {}",
            ms(c.idle_ack.p50),
            ms(c.idle_ack.p99),
            c.open
                .iter()
                .zip(&args.rates)
                .map(|(o, r)| format!("{r}/s {}/{}", ms(o.ack.p50), ms(o.ack.p99)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
