//! Benchmarks over a large recorded log: the Kafka publisher next to the
//! store's own read rate (`chat-bench kafka`), and hash-chain verification
//! of the whole log (`chat-bench verify`).
//!
//! The log is seeded straight through the store (chat events of realistic
//! size over many streams), so seeding measures nothing and costs little.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chat_domain::ChatEvent;
use chat_domain::message::MessageKind;
use chat_projector::kafka::{self, KafkaConfig, Redaction};
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, ExpectedVersion, Metadata, Upcasters, typed};
use clap::Args;
use futures::StreamExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Postgres server; a fresh database is created on it and dropped afterwards.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    server: String,
    /// Events in the log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Streams (chats) the events are spread over.
    #[arg(long, default_value_t = 1_000)]
    streams: u64,
}

#[derive(Debug, Args)]
pub struct KafkaArgs {
    #[command(flatten)]
    log: LogArgs,
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Redact message bodies while publishing.
    #[arg(long)]
    redact: bool,
}

/// A database with `events` chat events in it.
struct Seeded {
    scratch: crate::scratch::Scratch,
    pool: sqlx::PgPool,
    store: Arc<PgEventStore>,
    head: u64,
}

impl Seeded {
    async fn create(args: &LogArgs) -> anyhow::Result<Seeded> {
        let scratch = crate::scratch::Scratch::create(&args.server, "log").await?;
        let pool = postgres::connect(&scratch.url, 8).await?;
        chat::app::migrate(&pool).await?;
        let store = Arc::new(PgEventStore::new(
            pool.clone(),
            Upcasters::new(),
            PgStoreConfig::default(),
        ));
        let t = Instant::now();
        seed(&store, args.events, args.streams.max(1)).await?;
        let head = store.head_position().await?;
        println!(
            "seeded {head} events over {} streams in {:.1?}",
            args.streams,
            t.elapsed()
        );
        Ok(Seeded {
            scratch,
            pool,
            store,
            head,
        })
    }

    async fn drop_database(self) -> anyhow::Result<()> {
        drop(self.store);
        self.pool.close().await;
        self.scratch.drop_database().await
    }
}

/// Messages of ~60 characters, 500 per append, four writers over disjoint
/// streams (the store's group commit batches them further).
async fn seed(store: &Arc<PgEventStore>, events: u64, streams: u64) -> anyhow::Result<()> {
    const PER_APPEND: u64 = 500;
    const WRITERS: u64 = 4;
    let per_stream = events.div_ceil(streams);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut s = w;
                while s < streams {
                    let chat_id = Uuid::now_v7();
                    let sender = Uuid::now_v7();
                    let stream = format!("chat-{chat_id}");
                    let mut seq = 0u64;
                    while seq < per_stream {
                        let n = PER_APPEND.min(per_stream - seq);
                        let at = OffsetDateTime::now_utc();
                        let batch = (0..n)
                            .map(|i| {
                                let seq = seq + i + 1;
                                let e = ChatEvent::MessageSent {
                                    chat_id,
                                    message_id: Uuid::now_v7(),
                                    client_msg_id: format!("c{seq}"),
                                    seq,
                                    sender_id: sender,
                                    kind: MessageKind::Text,
                                    text: Some(format!(
                                        "message number {seq} of a benchmark chat, about sixty chars"
                                    )),
                                    media: None,
                                    reply_to: None,
                                    forward_of: None,
                                    at,
                                    mentions: Vec::new(),
                                    poll: None,
                                    location: None,
                                };
                                typed::encode(&e, &Metadata::default(), at)
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        store
                            .append(&stream, ExpectedVersion::Exact(seq), batch)
                            .await?;
                        seq += n;
                    }
                    s += WRITERS;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    Ok(())
}

/// The store's own read rate: the subscription the publisher reads through,
/// from 0 to the head, doing nothing with the events.
async fn read_rate(store: &Arc<PgEventStore>, head: u64) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut events = store.subscribe(0).ready_chunks(5_000);
    let mut at = 0;
    while at < head {
        let chunk = events
            .next()
            .await
            .ok_or_else(|| anyhow!("subscription ended"))?;
        for e in chunk {
            at = e?.position;
        }
    }
    Ok(head as f64 / t.elapsed().as_secs_f64())
}

pub async fn run_kafka(args: KafkaArgs) -> anyhow::Result<()> {
    let seeded = Seeded::create(&args.log).await?;
    let head = seeded.head;
    let store_rate = read_rate(&seeded.store, head).await?;

    let mut config = KafkaConfig::new(&args.brokers);
    config.topic = format!("chat.events.bench-{}", Uuid::new_v4().simple());
    config.partitions = args.partitions;
    if args.redact {
        config.redaction = Redaction::Bodies {
            salt: "bench".to_owned(),
        };
    }
    let topic = config.topic.clone();
    let (stop, stopping) = watch::channel(false);
    let t = Instant::now();
    let publisher =
        kafka::spawn_publisher(seeded.pool.clone(), seeded.store.clone(), config, stopping);
    loop {
        let at = kafka::published_position(&seeded.pool, &topic).await?;
        if at >= head {
            break;
        }
        if t.elapsed() > Duration::from_secs(3_600) {
            return Err(anyhow!("published {at} of {head} in an hour"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publish_rate = head as f64 / t.elapsed().as_secs_f64();
    let _ = stop.send(true);
    publisher.join().await;
    let sample = seeded.store.read_all(head - 1, 1).await?;
    let raw_rate = raw_produce_rate(&args.brokers, args.partitions, head, &sample[0]).await?;

    println!();
    println!(
        "# Kafka publisher ({head} events, {} partitions{})",
        args.partitions,
        if args.redact { ", bodies redacted" } else { "" }
    );
    println!();
    println!("| path | events/s |");
    println!("|---|---:|");
    println!("| store subscription, position 0 to head (baseline) | {store_rate:.0} |");
    println!(
        "| raw rdkafka producer, same record size, no store (broker ceiling) | {raw_rate:.0} |"
    );
    println!("| publisher: store → acked by the broker, checkpointed | {publish_rate:.0} |");
    println!();
    println!(
        "ratio publisher ÷ store read: {:.3}",
        publish_rate / store_rate
    );
    println!(
        "ratio publisher ÷ raw producer: {:.3}",
        publish_rate / raw_rate
    );
    seeded.drop_database().await
}

/// The broker's ceiling in this run: `n` records of the size of `sample`,
/// produced by the same idempotent producer settings as fast as the local
/// queue allows, all acked.
async fn raw_produce_rate(
    brokers: &str,
    partitions: i32,
    n: u64,
    sample: &chat_store::RecordedEvent,
) -> anyhow::Result<f64> {
    use rdkafka::ClientConfig;
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::{FutureProducer, FutureRecord};

    let topic = format!("chat.bench.raw-{}", Uuid::new_v4().simple());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    admin
        .create_topics(
            [&NewTopic::new(
                &topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()?;
    let value = serde_json::to_vec(sample)?;
    let keys: Vec<String> = (0..1_000).map(|i| format!("chat-{i}")).collect();
    let t = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for i in 0..n {
        let mut record = FutureRecord::to(&topic)
            .key(&keys[(i % 1_000) as usize])
            .payload(&value);
        loop {
            match producer.send_result(record) {
                Ok(d) => {
                    pending.push_back(d);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if let Some(d) = pending.pop_front() {
                        d.await?.map_err(|(e, _)| e)?;
                    }
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    for d in pending {
        d.await?.map_err(|(e, _)| e)?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

pub async fn run_verify(args: LogArgs) -> anyhow::Result<()> {
    let seeded = Seeded::create(&args).await?;
    let head = seeded.head;
    let t = Instant::now();
    let report = seeded.store.verify_all().await?;
    let elapsed = t.elapsed();
    if !report.valid || report.events != head {
        return Err(anyhow!("the chain did not verify: {report:?}"));
    }
    let read_rate = read_rate(&seeded.store, head).await?;
    println!();
    println!(
        "# Hash-chain verification ({head} events, {} streams)",
        args.streams
    );
    println!();
    println!("| path | events/s |");
    println!("|---|---:|");
    println!("| store subscription, position 0 to head (baseline) | {read_rate:.0} |");
    println!(
        "| verify --all (recompute every link) | {:.0} |",
        head as f64 / elapsed.as_secs_f64()
    );
    println!();
    println!("verify --all took {elapsed:.1?}");
    seeded.drop_database().await
}
