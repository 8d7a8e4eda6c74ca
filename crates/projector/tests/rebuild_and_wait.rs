//! Rebuild from position 0 and swap; read-your-writes waits.

mod support;

use std::time::Duration;

use chat_domain::ChatAction;
use chat_projector::{TimedOut, rebuild};
use chat_store::EventStore;
use serde_json::Value;
use support::{WAIT, env, script};

async fn index_names(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT schemaname::text, indexname::text FROM pg_indexes \
         WHERE schemaname LIKE 'rm\\_%' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rebuild_from_zero_equals_the_live_read_model_row_for_row() {
    let env = env().await;
    let cast = script::everything(&env.history(), 8).await;
    let (proj, _stop) = env.spawn(25);
    let head = env.caught_up(&proj).await;
    let live = env.snapshot().await;
    let indexes = index_names(&env.pool).await;

    let report = rebuild(&env.pool, &env.store, None).await.unwrap();
    let names: Vec<_> = report
        .projections
        .iter()
        .map(|p| (p.name, p.position, p.events))
        .collect();
    assert_eq!(
        names,
        vec![
            ("users", head, head),
            ("chats", head, head),
            ("messages", head, head),
            ("media", head, head)
        ]
    );
    assert_eq!(env.snapshot().await, live);
    assert_eq!(index_names(&env.pool).await, indexes);
    let leftovers: Vec<(String,)> = sqlx::query_as(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'rm\\_%\\_rebuild' OR nspname LIKE 'rm\\_%\\_old'",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The live runner carries on in the swapped-in tables.
    let h = env.history();
    h.send(cast.group, cast.users[1], "after-rebuild", "still here")
        .await;
    env.caught_up(&proj).await;
    let after = env.snapshot().await;
    assert_eq!(env.project_from_scratch().await, after);
}

#[tokio::test]
async fn a_rebuild_while_commands_keep_coming_loses_nothing() {
    let env = env().await;
    let h = env.history();
    let cast = script::everything(&h, 4).await;
    let (proj, _stop) = env.spawn(10);
    let writer = {
        let h = env.history();
        let (chat, bob) = (cast.group, cast.users[1]);
        tokio::spawn(async move {
            for i in 0..60 {
                h.send(chat, bob, &format!("during-{i}"), "busy").await;
            }
        })
    };
    let one = rebuild(&env.pool, &env.store, Some("chats")).await.unwrap();
    assert_eq!(one.projections.len(), 1);
    writer.await.unwrap();
    env.caught_up(&proj).await;
    let live = env.snapshot().await;
    assert_eq!(env.project_from_scratch().await, live);
}

#[tokio::test]
async fn an_unknown_projection_name_is_refused() {
    let env = env().await;
    let err = rebuild(&env.pool, &env.store, Some("nope"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown projection"), "{err}");
}

#[tokio::test]
async fn wait_for_returns_once_the_position_is_projected() {
    let env = env().await;
    let h = env.history();
    let (alice, bob) = (h.register("alice").await, h.register("bob").await);
    let chat = h.start_direct(alice, bob).await;
    let (proj, stop) = env.spawn(500);
    env.caught_up(&proj).await;
    // Stop projecting, write, and wait: the write is not visible yet.
    stop.send(true).unwrap();
    proj.join().await;
    let position = h.chat(chat, bob, ChatAction::AcceptRequest).await;
    let waiter = {
        let (proj, pool) = (proj.clone(), env.pool.clone());
        tokio::spawn(async move { proj.wait_for(&pool, position, WAIT).await })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    let (next, _stop) = env.spawn(500);
    waiter.await.unwrap().unwrap();
    let status: (Value,) =
        sqlx::query_as("SELECT to_jsonb(status) FROM rm_chats.chats WHERE chat_id = $1")
            .bind(chat)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(status.0, Value::from("active"));
    for schema in ["rm_users", "rm_chats", "rm_messages"] {
        assert!(env.checkpoint(schema).await >= position, "{schema}");
    }
    drop(next);
}

#[tokio::test]
async fn wait_for_times_out_when_the_position_is_not_reached() {
    let env = env().await;
    let h = env.history();
    h.register("alice").await;
    let (proj, stop) = env.spawn(500);
    let head = env.caught_up(&proj).await;
    stop.send(true).unwrap();
    proj.join().await;
    h.register("bob").await;
    let wanted = env.store.head_position().await.unwrap();
    let err = proj
        .wait_for(&env.pool, wanted, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TimedOut {
            wanted,
            reached: head
        }
    );
}

#[tokio::test]
async fn a_standby_takes_over_when_the_leader_stops() {
    let env = env().await;
    let h = env.history();
    script::everything(&h, 1).await;
    let (a, stop_a) = env.spawn(50);
    env.caught_up(&a).await;
    let (b, _stop_b) = env.spawn(50);
    assert!(a.status().iter().all(|s| s.leader));
    stop_a.send(true).unwrap();
    a.join().await;
    script::everything(&h, 1).await;
    let head = env.caught_up(&b).await;
    assert!(b.status().iter().all(|s| s.leader && s.position == head));
    assert_eq!(b.lag(head), 0);
    assert_eq!(b.lag_seconds(head), 0.0);
}
