//! The WebSocket gateway under load, next to a minimal in-process broadcast.
//!
//! The server is the real binary (`chat serve`) in a child process, so its
//! memory is measured apart from the client sockets, which live here:
//!
//! * idle sockets: N authenticated, subscribed sockets; memory per socket =
//!   (server VmRSS after − before) ÷ N (target ≤ 20 KiB);
//! * a group of M members, R msgs/s over HTTP: send → last member socket;
//! * D direct chats at a total target rate: achieved throughput and
//!   send → receive latency (the last of both sides' sockets);
//! * the baseline: the same fan-out, rates and frames through
//!   `tokio::sync::broadcast` in this process (no HTTP, no persistence), so
//!   the cost of durability is a ratio.

pub mod channels;
pub mod push;
mod sockets;

use sockets::{Bench, baseline, open_sockets};

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_domain::direct_chat_id;
use chat_store::Upcasters;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use clap::Args;
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::child::{SECRET, Server, ServerArgs, chat_bin, chat_env, nofile_limit, rss_kib};
use crate::load::{Clock, paced};
use crate::report::{Summary, ms};

#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Idle sockets (capped by the open-file limit).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Members of the fan-out group.
    #[arg(long, default_value_t = 1_000)]
    group_members: usize,
    /// Messages per second into the group.
    #[arg(long, default_value_t = 100)]
    group_rate: u32,
    /// Seconds of sending in each timed run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Direct chats.
    #[arg(long, default_value_t = 1_000)]
    direct_chats: usize,
    /// Target messages per second over all direct chats.
    #[arg(long, default_value_t = 2_000)]
    direct_rate: u32,
    /// Most HTTP sends in flight at once (the open-loop pacer waits beyond).
    #[arg(long, default_value_t = 256)]
    in_flight: usize,
}

pub async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let bin = chat_bin(args.target.chat_bin.as_ref())?;
    // Both processes hold one descriptor per socket; keep some spare.
    let mut sockets = args.sockets;
    if let Some(limit) = nofile_limit() {
        let room = limit.saturating_sub(256);
        if sockets > room {
            println!(
                "note: the open-file limit is {limit}; capping idle sockets at {room} \
                 (raise it with `ulimit -n` to measure {sockets})\n"
            );
            sockets = room;
        }
    }
    let group = args.group_members.max(3);
    let chats = args.direct_chats.max(1);
    let n_users = sockets.max(group).max(2 * chats);

    let scratch = crate::scratch::Scratch::create(&args.target.server, "gw").await?;
    let url = scratch.url.clone();
    let server = Server::spawn(&bin, &["serve"], chat_env(&url))?;
    let result = measure(&args, &server, &url, sockets, group, chats, n_users).await;
    tokio::task::spawn_blocking(move || drop(server)).await?;
    scratch.drop_database().await?;
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &GatewayArgs,
    server: &Server,
    url: &str,
    sockets: usize,
    group: usize,
    chats: usize,
    n_users: usize,
) -> anyhow::Result<()> {
    let pool = postgres::connect(url, 20).await?;
    let bench = Arc::new(Bench {
        base: server.base(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.in_flight)
            .build()?,
        signer: TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).map_err(|e| anyhow!(e))?,
        store: Arc::new(PgEventStore::new(
            pool,
            Upcasters::new(),
            PgStoreConfig::default(),
        )),
    });
    let pid = server.pid();
    let group_msgs = args.group_rate as usize * args.seconds as usize;
    let direct_msgs = args.direct_rate as usize * args.seconds as usize;
    // Sequence numbers: [group warm-up | group | direct warm-up | direct].
    let clock = Arc::new(Clock::new(1 + group_msgs + chats + direct_msgs));

    let t = Instant::now();
    let users = bench.users(n_users).await?;
    eprintln!("{n_users} users in {:.1?}", t.elapsed());

    // 1. Idle sockets.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let t = Instant::now();
    open_sockets(&bench.base, &users[..sockets], &clock).await?;
    let opened = t.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid)?;
    let per_socket = (after.saturating_sub(before)) as f64 / sockets.max(1) as f64;
    eprintln!("{sockets} sockets in {opened:.1?}");
    // Sockets for the members and chat sides beyond the idle ones.
    let needed = group.max(2 * chats);
    if needed > sockets {
        open_sockets(&bench.base, &users[sockets..needed], &clock).await?;
    }

    // 2. A group: users[0] creates it with the next group-1 users.
    let (owner, owner_token) = users[0].clone();
    let _ = owner;
    let ids: Vec<Uuid> = users[1..group].iter().map(|(id, _)| *id).collect();
    let created = bench
        .post(
            "/v1/chats/group",
            &owner_token,
            json!({ "title": "bench", "member_ids": ids }),
        )
        .await?;
    let group_chat: Uuid = serde_json::from_value(created["chat_id"].clone())?;
    // Warm-up: one message every member receives (membership has reached the tail).
    clock.mark_sent(0);
    bench.send(group_chat, &owner_token, 0).await?;
    clock
        .settle(0..1, group as u32, Duration::from_secs(30))
        .await;
    let senders: Arc<Vec<String>> = Arc::new(users[..10].iter().map(|u| u.1.clone()).collect());
    let t = Instant::now();
    {
        let (bench, senders) = (bench.clone(), senders.clone());
        paced(
            args.group_rate,
            group_msgs,
            args.in_flight,
            1,
            &clock,
            move |seq| {
                let (bench, senders) = (bench.clone(), senders.clone());
                Box::pin(async move {
                    bench
                        .send(group_chat, &senders[seq % senders.len()], seq)
                        .await
                })
            },
        )
        .await?;
    }
    let group_send = t.elapsed();
    let g_range = 1..1 + group_msgs;
    clock
        .settle(g_range.clone(), group as u32, Duration::from_secs(15))
        .await;
    let g_ack = clock.acks(g_range.clone());
    let (lat, span, g_lost) = clock.latencies(g_range, group as u32);
    let g = Summary::from_latencies(lat, span);
    eprintln!("group run: {group_msgs} sends in {group_send:.1?}");

    // 3. Direct chats between users[2i] and users[2i+1].
    let pairs: Vec<(Uuid, String, String)> = futures::stream::iter(0..chats)
        .map(|i| {
            let bench = bench.clone();
            let ((a, ta), (b, tb)) = (users[2 * i].clone(), users[2 * i + 1].clone());
            async move {
                bench
                    .post("/v1/chats/direct", &ta, json!({ "recipient_id": b }))
                    .await?;
                let chat = direct_chat_id(a, b);
                bench
                    .post(&format!("/v1/chats/{chat}/accept"), &tb, json!({}))
                    .await?;
                Ok::<_, anyhow::Error>((chat, ta, tb))
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let pairs = Arc::new(pairs);
    // Warm-up: one message per chat, both sides receive it.
    let warm = 1 + group_msgs;
    {
        let (bench, pairs) = (bench.clone(), pairs.clone());
        paced(5_000, chats, 32, warm, &clock, move |seq| {
            let (bench, pairs) = (bench.clone(), pairs.clone());
            Box::pin(async move {
                let (chat, ta, _) = &pairs[seq - warm];
                bench.send(*chat, ta, seq).await
            })
        })
        .await?;
    }
    clock
        .settle(warm..warm + chats, 2, Duration::from_secs(30))
        .await;
    let first = warm + chats;
    let t = Instant::now();
    {
        let (bench, pairs) = (bench.clone(), pairs.clone());
        paced(
            args.direct_rate,
            direct_msgs,
            args.in_flight,
            first,
            &clock,
            move |seq| {
                let (bench, pairs) = (bench.clone(), pairs.clone());
                Box::pin(async move {
                    let i = seq - first;
                    let (chat, ta, tb) = &pairs[(i * 7919) % pairs.len()];
                    bench
                        .send(*chat, if i.is_multiple_of(2) { ta } else { tb }, seq)
                        .await
                })
            },
        )
        .await?;
    }
    let direct_send = t.elapsed();
    let d_range = first..first + direct_msgs;
    clock
        .settle(d_range.clone(), 2, Duration::from_secs(15))
        .await;
    let d_ack = clock.acks(d_range.clone());
    let (lat, span, d_lost) = clock.latencies(d_range, 2);
    let d = Summary::from_latencies(lat, span);
    eprintln!("direct run: {direct_msgs} sends in {direct_send:.1?}");
    let rss_end = rss_kib(pid)?;

    // 4. Baselines: the same fan-outs through tokio::sync::broadcast.
    let (bg, bg_lost) = baseline(1, group, args.group_rate, group_msgs).await?;
    let (bd, bd_lost) = baseline(chats, 2, args.direct_rate, direct_msgs).await?;

    println!("# Gateway: idle sockets");
    println!();
    println!(
        "| sockets | server RSS before MiB | after MiB | KiB per socket | target | opened in s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {sockets} | {:.1} | {:.1} | {per_socket:.1} | ≤ 20 | {:.1} |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        opened.as_secs_f64()
    );
    println!();
    println!(
        "# Gateway fan-out: HTTP send → WebSocket receive ({} sockets open, {} s runs)",
        sockets.max(needed),
        args.seconds
    );
    println!();
    println!(
        "| load | path | target msgs/s | achieved msgs/s | deliveries/s | p50 ms | p99 ms | lost |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let row = |load: &str, path: &str, rate: u32, s: &Summary, fan: usize, lost: usize| {
        println!(
            "| {load} | {path} | {rate} | {:.0} | {:.0} | {} | {} | {lost} |",
            s.per_sec(),
            s.per_sec() * fan as f64,
            ms(s.p50),
            ms(s.p99)
        );
    };
    let gl = format!("group of {group}, send → last member");
    let dl = format!("{chats} direct chats, send → both sides");
    row(
        &gl,
        "gateway (HTTP, event store, tail)",
        args.group_rate,
        &g,
        group,
        g_lost,
    );
    row(
        &gl,
        "tokio broadcast (baseline)",
        args.group_rate,
        &bg,
        group,
        bg_lost,
    );
    row(
        &dl,
        "gateway (HTTP, event store, tail)",
        args.direct_rate,
        &d,
        2,
        d_lost,
    );
    row(
        &dl,
        "tokio broadcast (baseline)",
        args.direct_rate,
        &bd,
        2,
        bd_lost,
    );
    println!();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "durability cost (gateway ÷ baseline): group p50 ×{:.0}, p99 ×{:.0}; direct p50 ×{:.0}, p99 ×{:.0}, throughput {:.2}",
        ratio(g.p50, bg.p50),
        ratio(g.p99, bg.p99),
        ratio(d.p50, bd.p50),
        ratio(d.p99, bd.p99),
        d.per_sec() / bd.per_sec().max(1e-9)
    );
    println!(
        "pacing: group sends took {:.1} s for {} s of schedule, direct {:.1} s; server RSS at the end {:.1} MiB",
        group_send.as_secs_f64(),
        args.seconds,
        direct_send.as_secs_f64(),
        rss_end as f64 / 1024.0
    );
    println!(
        "HTTP answer (send → 2xx) p50/p99 ms: group {}/{}, direct {}/{}",
        ms(g_ack.p50),
        ms(g_ack.p99),
        ms(d_ack.p50),
        ms(d_ack.p99)
    );
    Ok(())
}
