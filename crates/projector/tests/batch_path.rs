//! The batch entry point (`Projection::apply_events`, set-based for runs of
//! messages) has exactly the effect of `Projection::apply` on each event in
//! turn, whatever the batch boundaries and wherever the rows already stand.

mod support;

use chat_domain::UserAction;
use chat_projector::{all_projections, apply_batch};
use chat_store::{EventStore, RecordedEvent};
use support::{Env, Snapshot, env, script, tables};

/// Empty every read model, checkpoints back at 0.
async fn reset(env: &Env) {
    for p in all_projections() {
        let s = p.schema();
        for t in tables(&env.pool, s).await {
            sqlx::query(&format!("TRUNCATE {s}.{t}"))
                .execute(&env.pool)
                .await
                .unwrap();
        }
        sqlx::query(&format!("INSERT INTO {s}.checkpoint DEFAULT VALUES"))
            .execute(&env.pool)
            .await
            .unwrap();
    }
}

async fn set_checkpoint(env: &Env, schema: &str, position: u64) {
    sqlx::query(&format!("UPDATE {schema}.checkpoint SET position = $1"))
        .bind(position as i64)
        .execute(&env.pool)
        .await
        .unwrap();
}

/// Every projection through `apply_batch` in batches of `size`, starting
/// after `from` (the checkpoint is set there first).
async fn in_batches(env: &Env, events: &[RecordedEvent], from: u64, size: usize) -> Snapshot {
    for p in all_projections() {
        set_checkpoint(env, p.schema(), from).await;
        let mut at = from;
        for chunk in events.chunks(size) {
            at = apply_batch(&env.pool, p.as_ref(), p.schema(), at, chunk)
                .await
                .unwrap()
                .position;
        }
    }
    env.snapshot().await
}

#[tokio::test]
async fn batches_equal_applying_events_one_by_one() {
    let env = env().await;
    let h = env.history();
    let cast = script::everything(&h, 4).await;
    let [alice, bob, carol, dave, erin] = [
        cast.users[0],
        cast.users[1],
        cast.users[2],
        cast.users[3],
        cast.users[4],
    ];
    // Runs of messages across chats and senders.
    for i in 0..12 {
        let sender = [bob, carol, dave, erin][i % 4];
        h.send(cast.group, sender, &format!("r{i}"), &format!("run {i}"))
            .await;
        if i % 3 == 0 {
            let sender = [alice, bob][i % 2];
            h.send(cast.direct, sender, &format!("rd{i}"), "direct run")
                .await;
        }
    }
    for chat_id in [cast.group, cast.direct] {
        let up_to_seq = h.last_seq(chat_id).await;
        h.user(
            bob,
            UserAction::ClearChat {
                chat_id,
                up_to_seq,
                is_participant: true,
            },
        )
        .await;
    }
    for i in 0..5 {
        h.send(cast.direct, alice, &format!("after{i}"), "back again")
            .await;
    }

    let events = env.store.read_all(0, 1_000_000).await.unwrap();
    let head = events.last().unwrap();
    let (head_pos, head_at) = (head.position, head.occurred_at);

    // The reference: `apply` on every event, one by one.
    reset(&env).await;
    let mut tx = env.pool.begin().await.unwrap();
    for p in all_projections() {
        for e in &events {
            p.apply(&mut tx, p.schema(), e).await.unwrap();
        }
        sqlx::query(&format!(
            "UPDATE {}.checkpoint SET position = $1, last_event_at = $2",
            p.schema()
        ))
        .bind(head_pos as i64)
        .bind(head_at)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let one_by_one = env.snapshot().await;

    for size in [1, 2, 5, 13, events.len()] {
        reset(&env).await;
        let batched = in_batches(&env, &events, 0, size).await;
        assert_eq!(batched, one_by_one, "batches of {size}");
    }

    // Rows partly ahead of a run: project up to a cut, move the checkpoints
    // back and apply the rest again in one batch.
    let n = events.len();
    for cut in [n - 3, n - 9, n - 17, n - 30] {
        for back in [1, 4, 11] {
            reset(&env).await;
            in_batches(&env, &events[..cut], 0, cut).await;
            let from = cut - back;
            let again = in_batches(&env, &events[from..], events[from - 1].position, n).await;
            assert_eq!(again, one_by_one, "cut at {cut}, back {back}");
        }
    }

    // Re-applying any slice of applied events, past the checkpoint's
    // protection, changes nothing (the guards alone hold).
    for (from, to) in [(0, n), (n - 20, n - 8), (n - 14, n - 5), (n - 9, n - 2)] {
        let mut tx = env.pool.begin().await.unwrap();
        for p in all_projections() {
            p.apply_events(&mut tx, p.schema(), &events[from..to])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(env.snapshot().await, one_by_one, "again {from}..{to}");
    }
}
