//! The read side: projection throughput and query latency (issue 4).
//!
//! Seeds, straight through the event store: a reader in 1,000 direct chats,
//! a group with `--messages` messages (1,000,000 by default) and one with
//! 10,000, texts drawn from a fixed vocabulary so searches are selective.
//! Then starts the app on an empty read model and measures
//! * how fast the projector catches up (events/s), next to a raw
//!   `COPY … FROM STDIN` of the same rows (the in-run baseline);
//! * p50/p99 of the chat list, the newest and a deep page of the big chat,
//!   the newest page of the 10k chat (ratio), and a search;
//! * the chat list with `mention_count` ([`mentions`]): a reader mentioned
//!   in every unread message next to one with the same chats unmentioned.

mod mentions;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chat::{App, AppConfig};
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_domain::{
    Aggregate, Chat, ChatAction, ChatCommand, MessageKind, Policy, chat_stream, direct_chat_id,
    message_id,
};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Upcasters, typed};
use clap::Args;
use futures::StreamExt;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::report::{Summary, ms};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    server: String,
    /// Messages in the big chat.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Direct chats of the reader.
    #[arg(long, default_value_t = 1_000)]
    chats: usize,
    /// Requests per measured query.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Keep the database afterwards (to EXPLAIN the queries).
    #[arg(long)]
    keep: bool,
}

fn word(i: u64) -> String {
    // A deterministic, well-spread pick from 5,000 made-up words.
    let x = i.wrapping_mul(2_654_435_761) % 5_000;
    format!("w{x}x")
}

struct Seeder {
    store: Arc<PgEventStore>,
    policy: Policy,
}

impl Seeder {
    /// A direct chat `peer` opened with `reader`, accepted, with `sends`.
    async fn direct(
        &self,
        peer: Uuid,
        reader: Uuid,
        sends: impl Iterator<Item = ChatCommand>,
    ) -> anyhow::Result<Uuid> {
        let chat_id = direct_chat_id(peer, reader);
        let start = ChatCommand {
            subscribers: Vec::new(),
            actor: peer,
            at: OffsetDateTime::now_utc(),
            action: ChatAction::StartDirect {
                chat_id,
                recipient: reader,
                recipient_blocked_requester: false,
                requester_blocked_recipient: false,
                recipient_accepts_requests: true,
            },
        };
        let accept = ChatCommand {
            subscribers: Vec::new(),
            actor: reader,
            at: OffsetDateTime::now_utc(),
            action: ChatAction::AcceptRequest,
        };
        self.chat(chat_id, [start, accept].into_iter().chain(sends), 100)
            .await?;
        Ok(chat_id)
    }

    async fn user(&self) -> anyhow::Result<Uuid> {
        crate::seed::register_user(self.store.as_ref(), "r", 0).await
    }

    async fn append<E: chat_domain::DomainEvent + serde::Serialize>(
        &self,
        stream: &str,
        version: u64,
        events: &[E],
        at: OffsetDateTime,
    ) -> anyhow::Result<u64> {
        let new: Vec<NewEvent> = events
            .iter()
            .map(|e| typed::encode(e, &Metadata::default(), at))
            .collect::<Result<_, _>>()?;
        let r = self
            .store
            .append(stream, ExpectedVersion::Exact(version), new)
            .await?;
        Ok(r.last_version)
    }

    /// Run chat commands in order, appending every `flush` events.
    async fn chat(
        &self,
        chat_id: Uuid,
        cmds: impl Iterator<Item = ChatCommand>,
        flush: usize,
    ) -> anyhow::Result<()> {
        let stream = chat_stream(chat_id);
        let mut state = Chat::default();
        let (mut version, mut pending) = (0u64, Vec::new());
        for cmd in cmds {
            let events = state
                .decide(&cmd, &self.policy)
                .map_err(|e| anyhow!(e.to_string()))?;
            for e in events {
                state = state.evolve(&e);
                pending.push(e);
            }
            if pending.len() >= flush {
                version = self.append(&stream, version, &pending, cmd.at).await?;
                pending.clear();
            }
        }
        if !pending.is_empty() {
            self.append(&stream, version, &pending, OffsetDateTime::now_utc())
                .await?;
        }
        Ok(())
    }
}

fn send(chat: Uuid, from: Uuid, n: u64) -> ChatCommand {
    send_mentioning(chat, from, n, Vec::new())
}

fn send_mentioning(chat: Uuid, from: Uuid, n: u64, mentions: Vec<Uuid>) -> ChatCommand {
    let cmid = format!("s{n}");
    let text = (0..8)
        .map(|k| word(n * 8 + k))
        .collect::<Vec<_>>()
        .join(" ");
    ChatCommand {
        subscribers: Vec::new(),
        actor: from,
        at: OffsetDateTime::now_utc(),
        action: ChatAction::SendMessage {
            message_id: message_id(chat, from, &cmid),
            client_msg_id: cmid,
            kind: MessageKind::Text,
            text: Some(text),
            media: None,
            reply_to: None,
            forward_of: None,
            existing: None,
            blocked_by_peer: false,
            mentions,
            named: Vec::new(),
            poll: None,
            location: None,
        },
    }
}

fn group(chat_id: Uuid, owner: Uuid, members: Vec<Uuid>, title: &str) -> ChatCommand {
    ChatCommand {
        subscribers: Vec::new(),
        actor: owner,
        at: OffsetDateTime::now_utc(),
        action: ChatAction::CreateGroup {
            chat_id,
            title: title.into(),
            description: None,
            member_ids: members,
            invitees: Vec::new(),
        },
    }
}

/// Signed-in GETs against the app, timed.
struct Client {
    http: reqwest::Client,
    base_url: String,
    signer: TokenSigner,
}

impl Client {
    fn new(base_url: &str) -> anyhow::Result<Client> {
        let signer =
            TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).map_err(|e| anyhow!(e))?;
        Ok(Client {
            http: reqwest::Client::new(),
            base_url: base_url.to_owned(),
            signer,
        })
    }

    fn token(&self, user: Uuid) -> anyhow::Result<String> {
        let claims = self.signer.claims(
            user,
            vec![],
            OffsetDateTime::now_utc(),
            time::Duration::hours(1),
        );
        self.signer.sign(&claims).map_err(|e| anyhow!(e))
    }

    /// `n` sequential GETs of `path`.
    async fn sample(&self, token: &str, path: String, n: usize) -> anyhow::Result<Summary> {
        let started = Instant::now();
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let res = self
                .http
                .get(format!("{}{path}", self.base_url))
                .bearer_auth(token)
                .send()
                .await?;
            if !res.status().is_success() {
                return Err(anyhow!("{path}: {}", res.status()));
            }
            res.bytes().await?;
            lat.push(t.elapsed());
        }
        Ok(Summary::from_latencies(lat, started.elapsed()))
    }
}

pub async fn run(args: ReadArgs) -> anyhow::Result<()> {
    let scratch = crate::scratch::Scratch::create(&args.server, "reads").await?;
    let url = scratch.url.clone();
    let pool = postgres::connect(&url, 8).await?;
    chat::app::migrate(&pool).await?;
    let store = Arc::new(PgEventStore::new(
        pool.clone(),
        Upcasters::new(),
        PgStoreConfig {
            listen: false,
            ..PgStoreConfig::default()
        },
    ));
    let seeder = Seeder {
        store: store.clone(),
        policy: Policy::default(),
    };

    let t = Instant::now();
    let reader = seeder.user().await?;
    let (a, b) = (seeder.user().await?, seeder.user().await?);
    for _ in 0..args.chats {
        let peer = seeder.user().await?;
        let chat_id = direct_chat_id(peer, reader);
        seeder
            .direct(peer, reader, std::iter::once(send(chat_id, peer, 0)))
            .await?;
    }
    let twins = mentions::seed(&seeder, args.chats).await?;
    let (big, mid) = (Uuid::now_v7(), Uuid::now_v7());
    let senders = [reader, a, b];
    seeder
        .chat(
            big,
            std::iter::once(group(big, reader, vec![a, b], "big"))
                .chain((0..args.messages as u64).map(|n| send(big, senders[(n % 3) as usize], n))),
            2_000,
        )
        .await?;
    seeder
        .chat(
            mid,
            std::iter::once(group(mid, reader, vec![a, b], "mid"))
                .chain((0..10_000u64).map(|n| send(mid, senders[(n % 3) as usize], n))),
            2_000,
        )
        .await?;
    let head = store.head_position().await?;
    println!("seeded {head} events in {:.1?}", t.elapsed());

    // Baseline: COPY the same rows into a twin table.
    let mut conn = pool.acquire().await?;
    let mut dump = Vec::new();
    {
        let mut out = conn.copy_out_raw("COPY events TO STDOUT").await?;
        while let Some(chunk) = out.next().await {
            dump.extend_from_slice(&chunk?);
        }
    }
    sqlx::query("CREATE TABLE events_copy (LIKE events INCLUDING ALL)")
        .execute(&mut *conn)
        .await?;
    let t = Instant::now();
    let mut copy = conn.copy_in_raw("COPY events_copy FROM STDIN").await?;
    copy.send(dump).await?;
    let copied = copy.finish().await?;
    let copy_rate = copied as f64 / t.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE events_copy")
        .execute(&mut *conn)
        .await?;
    drop(conn);

    // The app, on empty read models: time the projector to the head.
    let mut config = AppConfig::dev(Secret::new(url.clone()), Secret::new(SECRET));
    config.database_max_connections = 20;
    let app = App::build(config).await?;
    let t = Instant::now();
    let projector = app
        .state()
        .projector
        .clone()
        .ok_or_else(|| anyhow!("no projector"))?;
    while projector.min_position() < head {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let project_rate = head as f64 / t.elapsed().as_secs_f64();
    let base_url = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    println!();
    println!("# Projection throughput ({head} events into users, chats and messages)");
    println!();
    println!("| path | rows/s |");
    println!("|---|---:|");
    println!("| projector, empty read models to the head | {project_rate:.0} |");
    println!("| raw COPY of the same rows (baseline) | {copy_rate:.0} |");
    println!();
    println!("ratio projector ÷ COPY: {:.3}", project_rate / copy_rate);

    let client = Client::new(&base_url)?;
    let token = client.token(reader)?;
    let measure = |path: String| client.sample(&token, path, args.samples);
    let deep = (args.messages / 2).max(1);
    let rows = [
        (
            format!("chat list, {} chats (first page of 50)", args.chats + 2),
            "/v1/chats?limit=50".to_owned(),
        ),
        (
            format!("newest page, chat of {} messages", args.messages),
            format!("/v1/chats/{big}/messages?limit=50"),
        ),
        (
            format!("deep page (before seq {deep})"),
            format!("/v1/chats/{big}/messages?limit=50&before_seq={deep}"),
        ),
        (
            "newest page, chat of 10,000 messages".to_owned(),
            format!("/v1/chats/{mid}/messages?limit=50"),
        ),
        (
            format!(
                "search over {} messages",
                args.messages + 10_000 + args.chats
            ),
            format!("/v1/search/messages?q={}&limit=20", word(12_345)),
        ),
    ];
    println!();
    println!(
        "# Query latency ({} sequential requests each, over HTTP)",
        args.samples
    );
    println!();
    println!("| query | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    let mut p50s = Vec::new();
    for (label, path) in rows {
        let s = measure(path).await?;
        println!("| {label} | {} | {} |", ms(s.p50), ms(s.p99));
        p50s.push(s.p50);
    }
    println!();
    println!(
        "ratio newest page {} ÷ 10,000 messages: {:.2} (target ≤ 1.5)",
        args.messages,
        p50s[1].as_secs_f64() / p50s[3].as_secs_f64()
    );
    mentions::measure(&client, &twins, args.chats, args.samples).await?;

    let _ = stop.send(());
    let _ = server.await;
    pool.close().await;
    if args.keep {
        println!("kept database {}", scratch.name);
        return Ok(());
    }
    scratch.drop_database().await
}
