//! Exactly-once effect: re-applied events change nothing, a killed runner
//! resumes without loss or duplicates, and of two runners only one applies.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chat_projector::all_projections;
use chat_store::EventStore;
use support::{WAIT, env, script};

#[tokio::test]
async fn applying_every_event_a_second_time_changes_nothing() {
    let env = env().await;
    script::everything(&env.history(), 6).await;
    let (proj, _stop) = env.spawn(50);
    env.caught_up(&proj).await;
    let before = env.snapshot().await;

    // Straight through the handlers, past the checkpoint's protection.
    let events = env.store.read_all(0, 100_000).await.unwrap();
    let mut tx = env.pool.begin().await.unwrap();
    for p in all_projections() {
        for e in &events {
            p.apply(&mut tx, p.schema(), e).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    assert_eq!(env.snapshot().await, before);
}

#[tokio::test]
async fn moving_the_checkpoints_back_re_applies_events_without_changing_any_row() {
    let env = env().await;
    script::everything(&env.history(), 6).await;
    let (proj, stop) = env.spawn(20);
    let head = env.caught_up(&proj).await;
    let before = env.snapshot().await;
    stop.send(true).unwrap();
    proj.join().await;

    for (schema, back) in [("rm_users", head), ("rm_chats", 37), ("rm_messages", 5)] {
        sqlx::query(&format!("UPDATE {schema}.checkpoint SET position = $1"))
            .bind((head - back) as i64)
            .execute(&env.pool)
            .await
            .unwrap();
    }
    let (proj, _stop) = env.spawn(20);
    env.caught_up(&proj).await;
    assert_eq!(env.snapshot().await, before);
    let replayed: u64 = proj.status().iter().map(|s| s.events).sum();
    assert_eq!(replayed, head + 37 + 5);
}

#[tokio::test]
async fn a_runner_killed_mid_way_and_restarted_loses_and_duplicates_nothing() {
    let env = env().await;
    let h = env.history();
    script::everything(&h, 12).await;
    let head = env.store.head_position().await.unwrap();
    let (first, _stop1) = env.spawn(3);
    first.wait_for(&env.pool, head / 3, WAIT).await.unwrap();
    first.abort();
    let (second, _stop2) = env.spawn(3);
    // More history while the new runner catches up.
    script::everything(&h, 2).await;
    env.caught_up(&second).await;
    let resumed = env.snapshot().await;
    assert_eq!(env.project_from_scratch().await, resumed);
}

#[tokio::test]
async fn two_runners_at_once_apply_each_event_exactly_once() {
    let env = env().await;
    let h = env.history();
    script::everything(&h, 3).await;
    let (a, _stop_a) = env.spawn(4);
    let (b, _stop_b) = env.spawn(4);

    // Watch every checkpoint while both run: it only ever moves forward.
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (pool, done) = (env.pool.clone(), done.clone());
        tokio::spawn(async move {
            let mut last = [0i64; 3];
            while !done.load(Ordering::Relaxed) {
                for (i, s) in ["rm_users", "rm_chats", "rm_messages"].iter().enumerate() {
                    let (p,): (i64,) =
                        sqlx::query_as(&format!("SELECT position FROM {s}.checkpoint"))
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                    assert!(p >= last[i], "{s} went back from {} to {p}", last[i]);
                    last[i] = p;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    script::everything(&h, 6).await;
    let head = env.caught_up(&a).await;
    env.caught_up(&b).await;
    done.store(true, Ordering::Relaxed);
    monitor.await.unwrap();

    for (sa, sb) in a.status().iter().zip(b.status()) {
        assert_eq!(
            sa.events + sb.events,
            head,
            "{}: every event applied once",
            sa.name
        );
        assert!(sa.leader != sb.leader, "{}: exactly one leader", sa.name);
    }
    let live = env.snapshot().await;
    assert_eq!(env.project_from_scratch().await, live);
}

#[tokio::test]
async fn the_runner_recovers_when_its_database_connections_are_killed() {
    let env = env().await;
    let h = env.history();
    script::everything(&h, 2).await;
    let (proj, _stop) = env.spawn(10);
    env.caught_up(&proj).await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    script::everything(&h, 2).await;
    env.caught_up(&proj).await;
    let live = env.snapshot().await;
    assert_eq!(env.project_from_scratch().await, live);
}
