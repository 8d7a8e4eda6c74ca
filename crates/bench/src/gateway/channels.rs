//! Channels: what a post costs with 10 and with 100,000 subscribers, and
//! how fast it reaches 10,000 connected ones.
//!
//! * post cost: two channels of the same owner, one with `small` and one
//!   with `big` subscribers (their subscriptions appended straight to the
//!   event store, as their own commands would); posts alternate between
//!   the two, over HTTP, one at a time. Figures: command latency (p50,
//!   mean) and projector rows written per post (`pg_stat_user_tables`
//!   inserts + updates + deletes in the read models, each post projected
//!   before the next), each as big ÷ small (target ≤ 1.2);
//! * delivery: `connected` subscribers with open, subscribed sockets; posts
//!   at 1/s, send → last subscriber socket. The baseline in the same run is
//!   the gateway benchmark's: the same frames to as many receivers through
//!   `tokio::sync::broadcast` in this process (no HTTP, no persistence, no
//!   network). A group of the same 10,000 was tried and dropped: its
//!   members are each other's presence viewers, so 10,000 connecting
//!   sockets announce presence to 10,000 each (10^8 frames), which is the
//!   group's cost, not the post's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_domain::{ChatEvent, chat_stream};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, ExpectedVersion, Metadata, Upcasters, typed};
use clap::Args;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::sockets::{Bench, baseline, open_sockets};
use crate::child::{SECRET, Server, ServerArgs, chat_bin, chat_env};
use crate::load::{Clock, paced};
use crate::report::{Summary, ms};

#[derive(Debug, Args)]
pub struct ChannelArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Subscribers of the small channel.
    #[arg(long, default_value_t = 10)]
    small: usize,
    /// Subscribers of the big channel.
    #[arg(long, default_value_t = 100_000)]
    big: usize,
    /// Posts into each channel (alternating).
    #[arg(long, default_value_t = 300)]
    posts: usize,
    /// Connected subscribers for the delivery run.
    #[arg(long, default_value_t = 10_000)]
    connected: usize,
    /// Posts in each delivery run (one a second).
    #[arg(long, default_value_t = 20)]
    deliveries: usize,
}

pub async fn run(args: ChannelArgs) -> anyhow::Result<()> {
    let bin = chat_bin(args.target.chat_bin.as_ref())?;
    let scratch = crate::scratch::Scratch::create(&args.target.server, "ch").await?;
    let url = scratch.url.clone();
    let mut env = chat_env(&url);
    env.push(("MAX_GROUP_MEMBERS", "10000".into()));
    let server = Server::spawn(&bin, &["serve"], env)?;
    let result = measure(&args, &server, &url).await;
    tokio::task::spawn_blocking(move || drop(server)).await?;
    scratch.drop_database().await?;
    result
}

async fn measure(args: &ChannelArgs, server: &Server, url: &str) -> anyhow::Result<()> {
    let pool = postgres::connect(url, 20).await?;
    let bench = Arc::new(Bench {
        base: server.base(),
        http: reqwest::Client::builder().build()?,
        signer: TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).map_err(|e| anyhow!(e))?,
        store: Arc::new(PgEventStore::new(
            pool.clone(),
            Upcasters::new(),
            PgStoreConfig::default(),
        )),
    });
    let (_, owner) = bench.user(0).await?;
    let small = channel(&bench, &owner, "small").await?;
    let big = channel(&bench, &owner, "big").await?;
    let t = Instant::now();
    subscribe(&bench.store, small, &fresh_ids(args.small)).await?;
    subscribe(&bench.store, big, &fresh_ids(args.big)).await?;
    caught_up(&pool, bench.store.as_ref()).await?;
    eprintln!(
        "{} + {} subscriptions appended and projected in {:.1?}",
        args.small,
        args.big,
        t.elapsed()
    );

    // 1. Command latency, alternating; one post each to warm up.
    bench.send(small, &owner, 0).await?;
    bench.send(big, &owner, 1).await?;
    let (mut lat_small, mut lat_big) = (Vec::new(), Vec::new());
    for i in 0..args.posts {
        for (k, (chat, lat)) in [(small, &mut lat_small), (big, &mut lat_big)]
            .into_iter()
            .enumerate()
        {
            let t = Instant::now();
            bench.send(chat, &owner, 2 + 2 * i + k).await?;
            lat.push(t.elapsed());
        }
    }
    let (mean_small, mean_big) = (mean(&lat_small), mean(&lat_big));
    let s = Summary::from_latencies(lat_small, Duration::ZERO);
    let b = Summary::from_latencies(lat_big, Duration::ZERO);

    // 2. Projector rows per post, each channel alone, twice in turn.
    let mut seq = 10 * args.posts;
    let mut rows = [0.0, 0.0];
    for _round in 0..2 {
        for (k, chat) in [small, big].into_iter().enumerate() {
            caught_up(&pool, bench.store.as_ref()).await?;
            let before = written(&pool).await?;
            // Each post projected before the next: the projector applies a
            // run of posts with set-based statements (one chat-row update
            // per run), so letting runs form would measure their sizes.
            for _ in 0..args.posts {
                seq += 1;
                bench.send(chat, &owner, seq).await?;
                projected(&pool, bench.store.as_ref()).await?;
            }
            caught_up(&pool, bench.store.as_ref()).await?;
            let after = written(&pool).await?;
            rows[k] += (after - before) as f64 / (2 * args.posts) as f64;
        }
    }

    println!(
        "## Channels: a post with {} vs {} subscribers",
        args.small, args.big
    );
    println!();
    println!(
        "| | {} subscribers | {} subscribers | ratio |",
        args.small, args.big
    );
    println!("|---|---|---|---|");
    println!(
        "| command latency p50 | {} | {} | {:.2} |",
        ms(s.p50),
        ms(b.p50),
        ratio(b.p50, s.p50)
    );
    println!(
        "| command latency mean | {} | {} | {:.2} |",
        ms(mean_small),
        ms(mean_big),
        ratio(mean_big, mean_small)
    );
    println!(
        "| command latency p99 | {} | {} | {:.2} |",
        ms(s.p99),
        ms(b.p99),
        ratio(b.p99, s.p99)
    );
    println!(
        "| projector rows written per post | {:.2} | {:.2} | {:.2} |",
        rows[0],
        rows[1],
        rows[1] / rows[0].max(f64::MIN_POSITIVE)
    );

    // 3. Delivery to connected subscribers, next to a group of them.
    let (channel_p, group_p, n) = delivery(args, &bench, &pool, &owner).await?;
    println!();
    println!("## Delivery to {n} connected subscribers (send → last socket, 1 post/s)");
    println!();
    println!("| | p50 | p99 | max | lost |");
    println!("|---|---|---|---|---|");
    let p99_ratio = ratio(channel_p.0.p99, group_p.0.p99);
    for (name, (sum, lost)) in [
        ("channel", channel_p),
        (
            "in-process tokio broadcast, same frames (baseline)",
            group_p,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {} | {lost} |",
            ms(sum.p50),
            ms(sum.p99),
            ms(sum.max)
        );
    }
    println!("\np99 ratio channel ÷ broadcast: {p99_ratio:.2}");
    Ok(())
}

type Run = (Summary, usize);

/// `connected` users with sockets, subscribed to a channel; `deliveries`
/// posts, one a second; then the same fan-out through the in-process
/// baseline.
async fn delivery(
    args: &ChannelArgs,
    bench: &Arc<Bench>,
    pool: &PgPool,
    owner: &str,
) -> anyhow::Result<(Run, Run, usize)> {
    let n = args.connected.max(3);
    let t = Instant::now();
    let users = bench.users(n).await?;
    let ids: Vec<Uuid> = users.iter().map(|(id, _)| *id).collect();
    let chat = channel(bench, owner, "live").await?;
    subscribe(&bench.store, chat, &ids).await?;
    caught_up(pool, bench.store.as_ref()).await?;
    let runs = args.deliveries;
    // Sequences: [warm-up | runs].
    let clock = Arc::new(Clock::new(1 + runs));
    open_sockets(&bench.base, &users, &clock).await?;
    eprintln!("{n} subscribers with sockets in {:.1?}", t.elapsed());
    clock.mark_sent(0);
    bench.send(chat, owner, 0).await?;
    clock.settle(0..1, n as u32, Duration::from_secs(60)).await;
    let owner = Arc::new(owner.to_owned());
    {
        let (bench, owner) = (bench.clone(), owner.clone());
        paced(1, runs, 4, 1, &clock, move |seq| {
            let (bench, owner) = (bench.clone(), owner.clone());
            Box::pin(async move { bench.send(chat, &owner, seq).await })
        })
        .await?;
    }
    let range = 1..1 + runs;
    clock
        .settle(range.clone(), n as u32, Duration::from_secs(30))
        .await;
    let (lat, span, lost) = clock.latencies(range, n as u32);
    let channel_run = (Summary::from_latencies(lat, span), lost);
    let broadcast = baseline(1, n, 1, runs).await?;
    Ok((channel_run, broadcast, n))
}

async fn channel(bench: &Bench, owner: &str, title: &str) -> anyhow::Result<Uuid> {
    let created = bench
        .post(
            "/v1/chats/channel",
            owner,
            json!({ "title": title, "public": true }),
        )
        .await?;
    Ok(serde_json::from_value(created["chat_id"].clone())?)
}

fn fresh_ids(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::now_v7()).collect()
}

/// Each user's own `ChannelSubscribed`, appended 1,000 to a transaction.
async fn subscribe(store: &PgEventStore, chat: Uuid, users: &[Uuid]) -> anyhow::Result<()> {
    let at = OffsetDateTime::now_utc();
    for batch in users.chunks(1_000) {
        let events = batch
            .iter()
            .map(|u| {
                let e = ChatEvent::ChannelSubscribed {
                    chat_id: chat,
                    user_id: *u,
                    last_seq: 0,
                    at,
                    invite: None,
                };
                typed::encode(&e, &Metadata::default(), at)
            })
            .collect::<Result<Vec<_>, _>>()?;
        store
            .append(&chat_stream(chat), ExpectedVersion::Any, events)
            .await?;
    }
    Ok(())
}

/// Wait until every read model reached the log's head, then long enough
/// for the statistics collector to have counted its writes.
async fn caught_up(pool: &PgPool, store: &dyn EventStore) -> anyhow::Result<()> {
    projected(pool, store).await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    Ok(())
}

/// Wait until every read model reached the log's head.
async fn projected(pool: &PgPool, store: &dyn EventStore) -> anyhow::Result<()> {
    let head = i64::try_from(store.head_position().await?)?;
    let started = Instant::now();
    loop {
        let (low,): (i64,) = sqlx::query_as(
            "SELECT least((SELECT position FROM rm_chats.checkpoint), \
                          (SELECT position FROM rm_messages.checkpoint), \
                          (SELECT position FROM rm_users.checkpoint))",
        )
        .fetch_one(pool)
        .await?;
        if low >= head {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(anyhow!("the projector did not reach {head} (at {low})"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Rows inserted, updated and deleted in the read models so far (not
/// their checkpoints, which move once per batch, not per event).
async fn written(pool: &PgPool) -> anyhow::Result<i64> {
    let (n,): (Option<i64>,) = sqlx::query_as(
        "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::bigint FROM pg_stat_user_tables \
          WHERE schemaname IN ('rm_chats', 'rm_messages', 'rm_users', 'rm_media') \
            AND relname <> 'checkpoint'",
    )
    .fetch_one(pool)
    .await?;
    Ok(n.unwrap_or(0))
}

fn mean(lat: &[Duration]) -> Duration {
    lat.iter().sum::<Duration>() / u32::try_from(lat.len().max(1)).unwrap_or(u32::MAX)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}
