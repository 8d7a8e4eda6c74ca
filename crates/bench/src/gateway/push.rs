//! Push notifications from a group with everyone offline: can the notifier
//! keep up with the send rate?
//!
//! A real `chat serve` (child process) with `PUSH_ENDPOINT_ALLOW` set to a
//! Web Push receiver in this process, which decrypts every push with its
//! device's key (as a browser would) and adds up the messages each
//! notification covers. `members` users (straight into the store), one
//! group, one Web Push device each but the sender's; no sockets, so every
//! member is offline. The owner sends `messages` over HTTP as fast as
//! `in_flight` requests allow: that is the send rate (msgs/s) of this run.
//! The run ends when every device's notifications cover every message.
//!
//! Figures: notifications per second while the run lasted, and the
//! keep-up ratio: send time ÷ (time until every device was told − the
//! configured delay). At 1.0 the last notification left the moment the
//! delay after the last message ran out; below, the notifier fell behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_store::Upcasters;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use clap::Args;
use futures::StreamExt;
use p256::{EncodedPoint, SecretKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use uuid::Uuid;

use super::sockets::Bench;
use crate::child::{SECRET, Server, ServerArgs, chat_bin, chat_env};

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Group members (all but the sender with a device, all offline).
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Messages sent into the group.
    #[arg(long, default_value_t = 300)]
    messages: usize,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// PUSH_DELAY_MS of the server.
    #[arg(long, default_value_t = 2000)]
    delay_ms: u64,
}

/// The receiver: each device's keys and how many messages its
/// notifications covered.
struct Devices {
    keys: Vec<(SecretKey, [u8; 16])>,
    covered: Vec<AtomicU64>,
    notifications: AtomicU64,
    faults: AtomicU64,
}

async fn receive(State(d): State<Arc<Devices>>, Path(i): Path<usize>, body: Bytes) -> StatusCode {
    let Some((key, auth)) = d.keys.get(i) else {
        return StatusCode::NOT_FOUND;
    };
    let count = chat_push::ece::decrypt(key, auth, &body)
        .ok()
        .and_then(|plain| serde_json::from_slice::<Value>(&plain).ok())
        .and_then(|v| v["count"].as_u64());
    match count {
        Some(n) => {
            d.covered[i].fetch_add(n, Ordering::Relaxed);
            d.notifications.fetch_add(1, Ordering::Relaxed);
            StatusCode::CREATED
        }
        None => {
            d.faults.fetch_add(1, Ordering::Relaxed);
            StatusCode::BAD_REQUEST
        }
    }
}

pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    let devices = Arc::new(Devices {
        keys: (0..args.members)
            .map(|_| {
                let mut auth = [0u8; 16];
                OsRng.fill_bytes(&mut auth);
                (SecretKey::random(&mut OsRng), auth)
            })
            .collect(),
        covered: (0..args.members).map(|_| AtomicU64::new(0)).collect(),
        notifications: AtomicU64::new(0),
        faults: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = Router::new()
        .route("/push/{i}", post(receive))
        .with_state(devices.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let bin = chat_bin(args.target.chat_bin.as_ref())?;
    let scratch = crate::scratch::Scratch::create(&args.target.server, "push").await?;
    let url = scratch.url.clone();
    let mut env = chat_env(&url);
    env.push(("MAX_GROUP_MEMBERS", args.members.to_string()));
    env.push(("PUSH_ENDPOINT_ALLOW", format!("http://127.0.0.1:{port}/")));
    env.push(("PUSH_DELAY_MS", args.delay_ms.to_string()));
    let server = Server::spawn(&bin, &["serve"], env)?;
    let result = measure(&args, &server, &url, port, &devices).await;
    tokio::task::spawn_blocking(move || drop(server)).await?;
    scratch.drop_database().await?;
    result
}

async fn measure(
    args: &PushArgs,
    server: &Server,
    url: &str,
    port: u16,
    devices: &Arc<Devices>,
) -> anyhow::Result<()> {
    let pool = postgres::connect(url, 8).await?;
    let bench = Arc::new(Bench {
        base: server.base(),
        http: reqwest::Client::builder().build()?,
        signer: TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).map_err(|e| anyhow!(e))?,
        store: Arc::new(PgEventStore::new(
            pool,
            Upcasters::new(),
            PgStoreConfig::default(),
        )),
    });
    let users = bench.users(args.members).await?;
    let (_, owner) = users[0].clone();
    let ids: Vec<Uuid> = users[1..].iter().map(|(id, _)| *id).collect();
    let created = bench
        .post(
            "/v1/chats/group",
            &owner,
            json!({ "title": "push bench", "member_ids": ids }),
        )
        .await?;
    let chat: Uuid = serde_json::from_value(created["chat_id"].clone())?;
    futures::stream::iter(1..args.members)
        .map(|i| {
            let (bench, token) = (bench.clone(), users[i].1.clone());
            let (key, auth) = &devices.keys[i];
            let body = json!({
                "kind": "webpush",
                "endpoint": format!("http://127.0.0.1:{port}/push/{i}"),
                "keys": {
                    "p256dh": B64.encode(EncodedPoint::from(key.public_key()).as_bytes()),
                    "auth": B64.encode(auth),
                },
            });
            async move { bench.post("/v1/me/push-subscriptions", &token, body).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let receivers = args.members - 1;
    // Warm-up: one message every device is told of.
    bench.send(chat, &owner, 0).await?;
    covered_by_all(devices, 1, Duration::from_secs(60)).await?;
    let before = devices.notifications.load(Ordering::Relaxed);

    let start = Instant::now();
    futures::stream::iter(1..=args.messages)
        .map(|seq| {
            let (bench, owner) = (bench.clone(), owner.clone());
            async move { bench.send(chat, &owner, seq).await }
        })
        .buffer_unordered(args.in_flight.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let sent = start.elapsed();
    covered_by_all(devices, 1 + args.messages as u64, Duration::from_secs(600)).await?;
    let done = start.elapsed();
    let pushes = devices.notifications.load(Ordering::Relaxed) - before;
    let faults = devices.faults.load(Ordering::Relaxed);
    let delay = Duration::from_millis(args.delay_ms);
    let send_rate = args.messages as f64 / sent.as_secs_f64();
    let keep_up = sent.as_secs_f64() / done.saturating_sub(delay).as_secs_f64().max(1e-9);

    println!(
        "## Push: a {}-member group, everyone offline ({} messages, PUSH_DELAY_MS {})",
        args.members, args.messages, args.delay_ms
    );
    println!();
    println!("| | value |");
    println!("|---|---|");
    println!(
        "| send rate (baseline of this run) | {send_rate:.0} msgs/s ({} in {:.1} s) |",
        args.messages,
        sent.as_secs_f64()
    );
    println!(
        "| every device told of every message after | {:.1} s |",
        done.as_secs_f64()
    );
    println!(
        "| notifications delivered | {pushes} to {receivers} devices ({:.0}/s over the run) |",
        pushes as f64 / done.as_secs_f64()
    );
    println!(
        "| messages per notification (collapse) | {:.1} |",
        (args.messages * receivers) as f64 / pushes.max(1) as f64
    );
    println!("| receiver faults (undecryptable) | {faults} |");
    println!("| keep-up ratio: send time ÷ (time to tell all − delay) | {keep_up:.2} |");
    Ok(())
}

/// Wait until every device but the sender's was told of `n` messages.
async fn covered_by_all(d: &Devices, n: u64, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let behind = d.covered[1..]
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) < n)
            .count();
        if behind == 0 {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(anyhow!(
                "{behind} devices not told of {n} messages in {limit:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
