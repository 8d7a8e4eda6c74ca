//! The cost of sealing personal data in events (`chat_store::sealing`):
//! appends/s and projector rows/s with sealing on, as a ratio to the same
//! run with it off. Each side runs on a scratch database of its own, with
//! the same events (text messages, each with its own data key when
//! sealed), alternating off and on so drift on a noisy machine hits both.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chat_common::config::Secret;
use chat_common::sealing::MasterKey;
use chat_domain::{ChatEvent, MessageKind};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::sealing::Sealer;
use chat_store::typed::encode;
use chat_store::{EventStore, ExpectedVersion, Metadata, Upcasters};
use clap::Args;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::scratch::Scratch;

#[derive(Debug, Args)]
pub struct SealingArgs {
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    server: String,
    /// Concurrent writers for the append figure.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    writers: Vec<usize>,
    /// Appends per measurement.
    #[arg(long, default_value_t = 6_000)]
    ops: usize,
    /// Rounds of (off, on), alternating.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

fn message(chat_id: Uuid, seq: u64) -> ChatEvent {
    ChatEvent::MessageSent {
        chat_id,
        message_id: Uuid::now_v7(),
        client_msg_id: format!("c{seq}"),
        seq,
        sender_id: Uuid::from_u128(7),
        kind: MessageKind::Text,
        text: Some(format!("the quick brown fox jumps over the lazy dog {seq}")),
        media: None,
        reply_to: None,
        forward_of: None,
        mentions: Vec::new(),
        poll: None,
        location: None,
        at: OffsetDateTime::now_utc(),
    }
}

/// A fresh store on a scratch database, sealing or not.
async fn store(
    server: &str,
    sealed: bool,
    writers: usize,
) -> anyhow::Result<(Scratch, Arc<PgEventStore>)> {
    let scratch = Scratch::create(server, if sealed { "sealed" } else { "plain" }).await?;
    let pool = postgres::connect(&scratch.url, writers as u32 + 4).await?;
    chat::app::migrate(&pool).await?;
    let sealer = sealed.then(|| {
        let key = Secret::new("a bench master key of at least thirty-two bytes");
        Sealer::new(Arc::new(MasterKey::new(&key, None)))
    });
    let config = PgStoreConfig {
        sealer,
        ..PgStoreConfig::default()
    };
    Ok((
        scratch,
        Arc::new(PgEventStore::new(pool, Upcasters::new(), config)),
    ))
}

/// What the appends carry.
#[derive(Clone, Copy)]
enum Mix {
    /// Every append a text message: each makes and seals under a new key.
    Messages,
    /// A conversation: each message followed by its reader's delivery and
    /// read markers (not personal, not sealed).
    Conversation,
}

fn nth(chat: Uuid, mix: Mix, i: u64) -> ChatEvent {
    let reader = Uuid::from_u128(8);
    let seq = match mix {
        Mix::Messages => i + 1,
        Mix::Conversation => i / 3 + 1,
    };
    let at = OffsetDateTime::now_utc();
    match (mix, i % 3) {
        (Mix::Conversation, 1) => ChatEvent::DeliveryMarkerMoved {
            chat_id: chat,
            user_id: reader,
            up_to_seq: seq,
            at,
        },
        (Mix::Conversation, 2) => ChatEvent::ReadMarkerMoved {
            chat_id: chat,
            user_id: reader,
            up_to_seq: seq,
            at,
        },
        _ => message(chat, seq),
    }
}

/// `ops` single-event appends from `writers` writers, one chat each.
async fn appends(
    store: &Arc<PgEventStore>,
    writers: usize,
    ops: usize,
    mix: Mix,
) -> anyhow::Result<f64> {
    let per = ops / writers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let chat = Uuid::now_v7();
                let stream = chat_domain::chat_stream(chat);
                for i in 0..per as u64 {
                    let at = OffsetDateTime::now_utc();
                    let e = encode(&nth(chat, mix, i), &Metadata::default(), at)?;
                    store
                        .append(&stream, ExpectedVersion::Exact(i), vec![e])
                        .await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok((per * writers) as f64 / started.elapsed().as_secs_f64())
}

/// Rebuild the messages projection from the whole log: rows/s.
async fn projected(store: &Arc<PgEventStore>) -> anyhow::Result<f64> {
    let report = chat_projector::rebuild(store.pool(), store.as_ref(), Some("messages")).await?;
    let p = report
        .projections
        .first()
        .context("the messages projection")?;
    Ok(p.events as f64 / p.elapsed.as_secs_f64())
}

pub async fn run(args: SealingArgs) -> anyhow::Result<()> {
    let max = args.writers.iter().copied().max().unwrap_or(1);
    println!(
        "# Sealing personal data: on vs off ({} appends per run, {} rounds)",
        args.ops, args.rounds
    );
    println!();
    println!("| round | figure | off | on | ratio on ÷ off |");
    println!("|---:|---|---:|---:|---:|");
    for round in 1..=args.rounds {
        let mut stores = Vec::new();
        for sealed in [false, true] {
            stores.push(store(&args.server, sealed, max).await?);
        }
        for &writers in &args.writers {
            for (mix, what) in [
                (Mix::Messages, "messages"),
                (Mix::Conversation, "conversation (1 message : 2 markers)"),
            ] {
                let off = appends(&stores[0].1, writers, args.ops, mix).await?;
                let on = appends(&stores[1].1, writers, args.ops, mix).await?;
                println!(
                    "| {round} | appends/s, {what}, {writers} writers | {off:.0} | {on:.0} | {:.2} |",
                    on / off
                );
            }
        }
        let off = projected(&stores[0].1).await?;
        let on = projected(&stores[1].1).await?;
        println!(
            "| {round} | projector rows/s (messages, rebuilt from the log) | {off:.0} | {on:.0} | {:.2} |",
            on / off
        );
        for (scratch, store) in stores {
            store.pool().close().await;
            drop(store);
            scratch.drop_database().await?;
        }
    }
    Ok(())
}
