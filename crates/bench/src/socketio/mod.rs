//! `chat-bench socketio` (issue 13): send → receive over Socket.IO next to
//! `/v1/ws`, on one `chat serve` in one run.
//!
//! Two sets of `pairs` accepted direct chats. On the `/v1/ws` set a message
//! is sent over HTTP and received on the other side's `/v1/ws`; on the
//! Socket.IO set it is emitted as `send_message` and received as
//! `message_received`, each client on its Socket.IO WebSocket. Both run the
//! same open loop (`rate` messages per second over the pairs, `seconds`
//! long), alternating `rounds` times so drift on a noisy machine falls on
//! both alike; the figure is Socket.IO's p99 as a ratio of `/v1/ws`'s.

mod client;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::child::{Server, ServerArgs, chat_bin, chat_env};
use crate::e2e::client::{Client, Flavor, User};
use crate::load::{Clock, paced, text_from};
use crate::report::{Summary, ms};
use crate::scratch::Scratch;
use client::Sio;

#[derive(Debug, Clone, Args)]
pub struct SocketioArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Direct pairs per protocol.
    #[arg(long, default_value_t = 200)]
    pairs: usize,
    /// Messages per second over the pairs.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Seconds of each run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Runs per protocol, alternating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Ws,
    Sio,
}

type Pair = (Uuid, User, User);

pub async fn run(args: SocketioArgs) -> anyhow::Result<()> {
    let scratch = Scratch::create(&args.target.server, "sio").await?;
    let bin = chat_bin(args.target.chat_bin.as_ref())?;
    let server = Server::spawn(&bin, &["serve"], chat_env(&scratch.url))?;
    eprintln!("== chat serve on {}", server.addr);
    let result = measure(&args, &server.base()).await;
    tokio::task::spawn_blocking(move || drop(server)).await?;
    scratch.drop_database().await?;
    let (ws, sio) = result?;
    report(&args, &ws, &sio);
    Ok(())
}

async fn measure(args: &SocketioArgs, base: &str) -> anyhow::Result<(Results, Results)> {
    let client = Arc::new(Client::new(Flavor::Chat, base.to_owned())?);
    let users: Vec<User> = client.register_all(4 * args.pairs, 20).await?;
    let pairs = |from: usize| {
        let c = client.clone();
        let users = users.clone();
        async move {
            futures::stream::iter(0..args.pairs)
                .map(|i| {
                    let c = c.clone();
                    let (a, b) = (users[from + 2 * i].clone(), users[from + 2 * i + 1].clone());
                    async move { c.direct(&a, &b).await.map(|chat| (chat, a, b)) }
                })
                .buffer_unordered(32)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<anyhow::Result<Vec<Pair>>>()
        }
    };
    let ws_pairs = Arc::new(pairs(0).await?);
    let sio_pairs = Arc::new(pairs(2 * args.pairs).await?);
    let per_run = args.rate as usize * args.seconds as usize;
    let clock = Arc::new(Clock::new(
        (per_run + 2 * args.pairs) * 2 * (args.rounds + 1),
    ));
    for u in &users[..2 * args.pairs] {
        client.open_socket(u, clock.clone()).await?;
    }
    let mut sockets = std::collections::HashMap::new();
    for u in &users[2 * args.pairs..] {
        sockets.insert(
            u.index,
            Sio::connect(base, &u.token, u.index, clock.clone()).await?,
        );
    }
    let sockets = Arc::new(sockets);
    eprintln!(
        "{} /v1/ws and {} Socket.IO sockets open",
        2 * args.pairs,
        2 * args.pairs
    );
    let seqs = Arc::new(AtomicUsize::new(0));
    let (mut ws, mut sio) = (Results::default(), Results::default());
    // A warm-up run of each first, not counted.
    for round in 0..=args.rounds {
        for proto in [Proto::Ws, Proto::Sio] {
            let pairs = match proto {
                Proto::Ws => ws_pairs.clone(),
                Proto::Sio => sio_pairs.clone(),
            };
            let count = if round == 0 { 2 * args.pairs } else { per_run };
            let first = seqs.fetch_add(count, Ordering::Relaxed);
            let (c, s) = (client.clone(), sockets.clone());
            paced(args.rate, count, 2_048, first, &clock, move |seq| {
                let (c, s, p) = (c.clone(), s.clone(), pairs.clone());
                Box::pin(async move {
                    let i = seq - first;
                    let (chat, a, b) = &p[(i * 7919) % p.len()];
                    let from = if (i / p.len()).is_multiple_of(2) {
                        a
                    } else {
                        b
                    };
                    // A failed send is counted as lost, not fatal.
                    let _ = match proto {
                        Proto::Ws => c.send(*chat, from, seq).await,
                        Proto::Sio => s[&from.index].emit(
                            "send_message",
                            json!({"chatId": chat, "content": text_from(seq, from.index),
                                   "clientMsgId": format!("sio-{seq}")}),
                        ),
                    };
                    Ok(())
                })
            })
            .await?;
            let range = first..first + count;
            clock.settle(range.clone(), 1, PATIENCE).await;
            if round == 0 {
                continue;
            }
            let (lat, span, lost) = clock.latencies(range, 1);
            let into = if proto == Proto::Ws {
                &mut ws
            } else {
                &mut sio
            };
            into.runs.push(Summary::from_latencies(lat.clone(), span));
            into.all.extend(lat);
            into.lost += lost;
            into.span += span;
        }
    }
    Ok((ws, sio))
}

#[derive(Default)]
struct Results {
    runs: Vec<Summary>,
    all: Vec<Duration>,
    lost: usize,
    span: Duration,
}

impl Results {
    fn total(&self) -> Summary {
        Summary::from_latencies(self.all.clone(), self.span)
    }
}

fn report(args: &SocketioArgs, ws: &Results, sio: &Results) {
    let (w, s) = (ws.total(), sio.total());
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "# Socket.IO next to /v1/ws: send → receive, {} msg/s over {} pairs, {} runs of {} s each",
        args.rate, args.pairs, args.rounds, args.seconds
    );
    println!();
    println!(
        "| what | /v1/ws (HTTP send) | Socket.IO (send_message) | ratio (Socket.IO ÷ /v1/ws) | target |"
    );
    println!("|---|---:|---:|---:|---|");
    println!(
        "| p50 | {} ms | {} ms | {:.2} | |",
        ms(w.p50),
        ms(s.p50),
        ratio(s.p50, w.p50)
    );
    println!(
        "| p99 | {} ms | {} ms | {:.2} | ≤ 1.3 |",
        ms(w.p99),
        ms(s.p99),
        ratio(s.p99, w.p99)
    );
    println!(
        "| max | {} ms | {} ms | {:.2} | |",
        ms(w.max),
        ms(s.max),
        ratio(s.max, w.max)
    );
    println!(
        "| delivered msgs/s | {:.0} | {:.0} | {:.2} | |",
        w.per_sec(),
        s.per_sec(),
        s.per_sec() / w.per_sec().max(1e-9)
    );
    println!("| lost | {} | {} | | 0 |", ws.lost, sio.lost);
    println!();
    let each = |r: &Results| {
        r.runs
            .iter()
            .map(|x| format!("{}/{}", ms(x.p50), ms(x.p99)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "per run p50/p99 ms: /v1/ws {}; Socket.IO {}",
        each(ws),
        each(sio)
    );
}
