//! SendMessage over HTTP through the whole app, next to raw store appends.
//!
//! * throughput: 64 clients sending into 1,000 direct chats; the store's own
//!   64-writer append rate measured in the same run is the baseline;
//! * bounded load cost: send latency into a chat with 100,000 prior events
//!   ÷ into a new chat (target ≤ 1.5), plus the cold first send with and
//!   without a snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chat::{App, AppConfig};
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_domain::{
    Aggregate, Chat, ChatAction, ChatCommand, MessageKind, Policy, chat_stream, direct_chat_id,
    message_id,
};
use chat_store::postgres::PgEventStore;
use chat_store::{EventStore, ExpectedVersion, Metadata, typed};
use clap::Args;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::report::{Summary, ms};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

#[derive(Debug, Args)]
pub struct CommandArgs {
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    server: String,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Direct chats the clients send into.
    #[arg(long, default_value_t = 1_000)]
    chats: usize,
    /// Sends in the throughput run.
    #[arg(long, default_value_t = 20_000)]
    sends: usize,
    /// Prior events in the long chat.
    #[arg(long, default_value_t = 100_000)]
    history: usize,
    /// Sequential sends measured per chat in the latency run.
    #[arg(long, default_value_t = 500)]
    latency_sends: usize,
}

struct Bench {
    base: String,
    http: reqwest::Client,
    signer: TokenSigner,
    store: Arc<PgEventStore>,
}

impl Bench {
    fn token(&self, user: Uuid) -> anyhow::Result<String> {
        let claims = self.signer.claims(
            user,
            vec![],
            OffsetDateTime::now_utc(),
            time::Duration::hours(2),
        );
        self.signer.sign(&claims).map_err(|e| anyhow!(e))
    }

    /// Users straight into the event store (registration's password hashing
    /// is not what this measures).
    async fn users(&self, n: usize) -> anyhow::Result<Vec<(Uuid, String)>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let id = crate::seed::register_user(self.store.as_ref(), "bench", i).await?;
            out.push((id, self.token(id)?));
        }
        Ok(out)
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<reqwest::StatusCode> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        if !status.is_success() {
            return Err(anyhow!(
                "{path}: {status} {}",
                res.text().await.unwrap_or_default()
            ));
        }
        Ok(status)
    }

    async fn send(&self, chat: Uuid, token: &str, client_msg_id: &str) -> anyhow::Result<Duration> {
        let t = Instant::now();
        self.post(
            &format!("/v1/chats/{chat}/messages"),
            token,
            json!({ "client_msg_id": client_msg_id, "kind": "text", "text": "the quick brown fox jumps over the lazy dog" }),
        )
        .await?;
        Ok(t.elapsed())
    }
}

async fn start(url: &str) -> anyhow::Result<(App, Bench)> {
    let mut config = AppConfig::dev(Secret::new(url), Secret::new(SECRET));
    config.database_max_connections = 90;
    config.command.rate_limits.messages.per_second = 1e9;
    config.command.rate_limits.messages.burst = u32::MAX;
    let app = App::build(config).await?;
    let bench = Bench {
        base: format!("http://{}", app.local_addr()),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        signer: TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).map_err(|e| anyhow!(e))?,
        store: app.state().store.clone(),
    };
    Ok((app, bench))
}

pub async fn run(args: CommandArgs) -> anyhow::Result<()> {
    let scratch = crate::scratch::Scratch::create(&args.server, "cmd").await?;
    let (app, bench) = start(&scratch.url).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let bench = Arc::new(bench);

    // 1,000 accepted direct chats between disjoint pairs.
    let users = bench.users(args.chats * 2).await?;
    let mut chats = Vec::with_capacity(args.chats);
    for pair in users.chunks(2) {
        let [(a, ta), (b, tb)] = pair else { continue };
        bench
            .post("/v1/chats/direct", ta, json!({ "recipient_id": b }))
            .await?;
        let chat = direct_chat_id(*a, *b);
        bench
            .post(&format!("/v1/chats/{chat}/accept"), tb, json!({}))
            .await?;
        chats.push((chat, ta.clone(), tb.clone()));
    }
    let chats = Arc::new(chats);

    // Throughput: 64 clients, each send into a random chat as one side.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            let (bench, chats, next) = (bench.clone(), chats.clone(), next.clone());
            let total = args.sends;
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (chat, ta, tb) = &chats[(i * 7919) % chats.len()];
                    let token = if i % 2 == 0 { ta } else { tb };
                    lat.push(bench.send(*chat, token, &format!("t-{i}")).await?);
                }
                Ok::<_, anyhow::Error>(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let http = Summary::from_latencies(lat, started.elapsed());
    let store = crate::append::appends(&bench.store, args.clients, args.sends.min(12_000)).await?;

    println!(
        "# SendMessage over HTTP ({} clients, {} chats, {} sends)",
        args.clients, args.chats, args.sends
    );
    println!();
    println!("| path | ops/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    println!(
        "| HTTP SendMessage (auth, load, decide, append) | {:.0} | {} | {} |",
        http.per_sec(),
        ms(http.p50),
        ms(http.p99)
    );
    println!(
        "| event-store append, {} writers (baseline) | {:.0} | {} | {} |",
        args.clients,
        store.per_sec(),
        ms(store.p50),
        ms(store.p99)
    );
    println!();
    println!(
        "ratio HTTP ÷ store: {:.2}",
        http.per_sec() / store.per_sec()
    );

    // Bounded load cost.
    let (long_chat, long_token) = seed_long_chat(&bench, args.history).await?;
    let (fresh, fresh_token, _) = chats[0].clone();
    let cold = bench.send(long_chat, &long_token, "cold-0").await?;
    let long = sequential(&bench, long_chat, &long_token, args.latency_sends, "long").await?;
    let new = sequential(&bench, fresh, &fresh_token, args.latency_sends, "new").await?;

    // A second node on the same database: cold cache, but a snapshot exists.
    let (app2, bench2) = start(&scratch.url).await?;
    let (stop2, stopped2) = tokio::sync::oneshot::channel::<()>();
    let server2 = tokio::spawn(app2.run_until_stopped(async {
        let _ = stopped2.await;
    }));
    let cold_snapshot = bench2.send(long_chat, &long_token, "cold-snap").await?;

    println!();
    println!(
        "# Send latency: chat with {} prior events vs a new chat ({} sequential sends each)",
        args.history, args.latency_sends
    );
    println!();
    println!("| chat | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    println!(
        "| {} prior events | {} | {} |",
        args.history,
        ms(long.p50),
        ms(long.p99)
    );
    println!("| new chat | {} | {} |", ms(new.p50), ms(new.p99));
    println!();
    println!(
        "ratio p50 long ÷ new: {:.2} (target ≤ 1.5)",
        long.p50.as_secs_f64() / new.p50.as_secs_f64()
    );
    println!(
        "first send into the long chat on a cold node: {} ms without a snapshot, {} ms with one",
        ms(cold),
        ms(cold_snapshot)
    );

    let _ = stop2.send(());
    let _ = server2.await;
    let _ = stop.send(());
    let _ = server.await;
    scratch.drop_database().await
}

async fn sequential(
    bench: &Bench,
    chat: Uuid,
    token: &str,
    n: usize,
    tag: &str,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        lat.push(bench.send(chat, token, &format!("{tag}-{i}")).await?);
    }
    Ok(Summary::from_latencies(lat, started.elapsed()))
}

/// A direct chat with `n` messages, appended straight to the store in big
/// batches (decided by the domain, so the history is valid).
async fn seed_long_chat(bench: &Bench, n: usize) -> anyhow::Result<(Uuid, String)> {
    let users = bench.users(2).await?;
    let [(a, ta), (b, tb)] = users.as_slice() else {
        return Err(anyhow!("two users"));
    };
    bench
        .post("/v1/chats/direct", ta, json!({ "recipient_id": b }))
        .await?;
    let chat = direct_chat_id(*a, *b);
    bench
        .post(&format!("/v1/chats/{chat}/accept"), tb, json!({}))
        .await?;
    let stream = chat_stream(chat);
    let mut loaded = typed::load::<Chat>(bench.store.as_ref(), &stream).await?;
    let policy = Policy::default();
    let mut sent = 0;
    while sent < n {
        let mut batch = Vec::new();
        let mut state = loaded.state.clone();
        for _ in 0..1_000.min(n - sent) {
            let cmid = format!("seed-{sent}");
            let at = OffsetDateTime::now_utc();
            let cmd = ChatCommand {
                subscribers: Vec::new(),
                actor: *a,
                at,
                action: ChatAction::SendMessage {
                    message_id: message_id(chat, *a, &cmid),
                    client_msg_id: cmid,
                    kind: MessageKind::Text,
                    text: Some("seeded history".into()),
                    media: None,
                    reply_to: None,
                    forward_of: None,
                    existing: None,
                    blocked_by_peer: false,
                    mentions: Vec::new(),
                    named: Vec::new(),
                    poll: None,
                    location: None,
                },
            };
            let events = state
                .decide(&cmd, &policy)
                .map_err(|e| anyhow!(e.to_string()))?;
            for e in &events {
                state = state.evolve(e);
                batch.push(typed::encode(e, &Metadata::default(), at)?);
            }
            sent += 1;
        }
        let res = bench
            .store
            .append(&stream, ExpectedVersion::Exact(loaded.version), batch)
            .await
            .context("seeding the long chat")?;
        loaded.state = state;
        loaded.version = res.last_version;
        loaded.position = res.last_position;
    }
    Ok((chat, ta.clone()))
}
