//! Append throughput: the event store against a plain-INSERT baseline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chat_store::postgres::{self, PgEventStore, PgStoreConfig};
use chat_store::{EventStore, ExpectedVersion, NewEvent, Upcasters};
use clap::Args;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::report::{Summary, ms};

#[derive(Debug, Args)]
pub struct AppendArgs {
    /// Server to benchmark against; a fresh database `chat_bench_append_<pid>` is
    /// created on it and dropped afterwards.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    server: String,
    /// Writer counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    writers: Vec<usize>,
    /// Transactions per measurement (split across the writers).
    #[arg(long, default_value_t = 6_000)]
    ops: usize,
}

fn payload(i: usize) -> serde_json::Value {
    json!({
        "type": "MessageSent",
        "chat_id": "0190f1d2-7a1c-7cc0-9d2e-1a2b3c4d5e6f",
        "seq": i,
        "sender_id": "0190f1d2-7a1c-7cc0-9d2e-6f5e4d3c2b1a",
        "kind": "text",
        "text": "the quick brown fox jumps over the lazy dog",
    })
}

pub async fn run(args: AppendArgs) -> anyhow::Result<()> {
    let scratch = crate::scratch::Scratch::create(&args.server, "append")
        .await
        .context("creating the bench database")?;
    let max_writers = args.writers.iter().copied().max().unwrap_or(1);
    let pool = postgres::connect(&scratch.url, (max_writers as u32) + 4).await?;
    postgres::migrate(&pool).await?;
    sqlx::query(
        "CREATE TABLE baseline (stream text, version bigint, payload jsonb, at timestamptz)",
    )
    .execute(&pool)
    .await?;
    let store = Arc::new(PgEventStore::new(
        pool.clone(),
        Upcasters::new(),
        PgStoreConfig::default(),
    ));

    println!(
        "# Event-store appends vs plain INSERT+COMMIT ({} transactions per run)",
        args.ops
    );
    println!();
    println!(
        "| writers | baseline tx/s | store appends/s | ratio | baseline p50/p99 ms | store p50/p99 ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &writers in &args.writers {
        let base = baseline(&pool, writers, args.ops).await?;
        let st = appends(&store, writers, args.ops).await?;
        println!(
            "| {writers} | {:.0} | {:.0} | {:.2} | {}/{} | {}/{} |",
            base.per_sec(),
            st.per_sec(),
            st.per_sec() / base.per_sec(),
            ms(base.p50),
            ms(base.p99),
            ms(st.p50),
            ms(st.p99)
        );
    }
    drop(store);
    pool.close().await;
    scratch.drop_database().await
}

async fn baseline(pool: &PgPool, writers: usize, ops: usize) -> anyhow::Result<Summary> {
    let per = ops / writers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                let mut conn = pool.acquire().await?;
                for i in 0..per {
                    let t = Instant::now();
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    sqlx::query("INSERT INTO baseline VALUES ($1, $2, $3, $4)")
                        .bind(format!("chat-{w}"))
                        .bind(i as i64)
                        .bind(payload(i))
                        .bind(OffsetDateTime::now_utc())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    lat.push(t.elapsed());
                }
                Ok::<_, sqlx::Error>(lat)
            })
        })
        .collect();
    collect(tasks, started).await
}

pub async fn appends(
    store: &Arc<PgEventStore>,
    writers: usize,
    ops: usize,
) -> anyhow::Result<Summary> {
    let per = ops / writers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let stream = format!("chat-{}", uuid::Uuid::now_v7());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                let _ = w;
                for i in 0..per {
                    let t = Instant::now();
                    let e = NewEvent::new("MessageSent", payload(i), OffsetDateTime::now_utc());
                    store
                        .append(&stream, ExpectedVersion::Exact(i as u64), vec![e])
                        .await
                        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                    lat.push(t.elapsed());
                }
                Ok::<_, sqlx::Error>(lat)
            })
        })
        .collect();
    collect(tasks, started).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<Duration>, sqlx::Error>>>,
    started: Instant,
) -> anyhow::Result<Summary> {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(Summary::from_latencies(all, started.elapsed()))
}
