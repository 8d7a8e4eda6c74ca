//! Durable idempotency against a real Postgres (a fresh database per test).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use chat_command_api::idempotency::{
    IdempotencyConfig, IdempotencyStore, StoredResponse, fingerprint,
};
use chat_testkit::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

async fn database(max_connections: u32) -> (TestDb, PgPool) {
    let db = TestDb::create().await;
    let pool = db.pool(max_connections).await;
    chat_command_api::migrator().run(&pool).await.unwrap();
    (db, pool)
}

fn store(pool: &PgPool) -> IdempotencyStore {
    IdempotencyStore::new(pool.clone(), IdempotencyConfig::default())
}

fn fp(body: &str) -> [u8; 32] {
    fingerprint("POST", "/v1/chats/group", None, body.as_bytes())
}

/// An answer whose body differs on every call, so a replay is recognisable.
fn counted(calls: &AtomicUsize, status: u16) -> StoredResponse {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    StoredResponse {
        status,
        body: format!("{{\"call\": {n},  \"raw\":\"\\u00e9\"}}\n").into_bytes(),
        content_type: "application/json; charset=utf-8".to_owned(),
        retry_after: None,
    }
}

async fn age_all_rows(pool: &PgPool, interval: &str) {
    sqlx::query(&format!(
        "UPDATE idempotency_keys SET created_at = now() - interval '{interval}'"
    ))
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_repeated_key_replays_the_first_answer_byte_for_byte_without_running_again() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);

    let (first, replayed) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();
    assert!(!replayed);
    let (second, replayed) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();

    assert!(replayed);
    assert_eq!(second, first);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let res = second.into_response(true);
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
}

/// Twenty copies of one request in flight at once: `f` waits until all of
/// them have been started before it answers.
async fn twenty_concurrent_runs(stores: Vec<Arc<IdempotencyStore>>) {
    let actor = Uuid::new_v4();
    let calls = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = tokio::sync::watch::channel(0usize);
    let started_tx = Arc::new(started_tx);

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let calls = calls.clone();
            let started_tx = started_tx.clone();
            let mut started_rx = started_rx.clone();
            tokio::spawn(async move {
                started_tx.send_modify(|n| *n += 1);
                store
                    .run(actor, "same-key", fp("{}"), || async move {
                        started_rx.wait_for(|n| *n == 20).await.unwrap();
                        counted(&calls, 200)
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();

    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(answers.iter().filter(|(_, replayed)| !replayed).count(), 1);
    assert!(answers.iter().all(|(answer, _)| *answer == answers[0].0));
}

#[tokio::test]
async fn twenty_concurrent_duplicates_run_the_command_once_and_get_one_answer() {
    let (_db, pool) = database(4).await;
    twenty_concurrent_runs(vec![Arc::new(store(&pool))]).await;
}

#[tokio::test]
async fn concurrent_duplicates_on_two_nodes_are_serialized_by_the_database() {
    let (_db, pool) = database(4).await;
    let other_node = Arc::new(store(&pool));
    twenty_concurrent_runs(vec![Arc::new(store(&pool)), other_node]).await;
}

#[tokio::test]
async fn many_keys_at_once_on_a_small_pool_leave_room_for_the_commands() {
    let (_db, pool) = database(2).await;
    let store = Arc::new(store(&pool));
    let actor = Uuid::new_v4();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, pool) = (store.clone(), pool.clone());
            tokio::spawn(async move {
                store
                    .run(actor, &format!("key-{i}"), fp("{}"), || async move {
                        // The command needs a connection of its own.
                        let one: i32 = sqlx::query_scalar("SELECT 1")
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                        StoredResponse::json(StatusCode::OK, &one)
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        let (answer, replayed) = task.await.unwrap();
        assert_eq!((answer.status, replayed), (200, false));
    }
}

#[tokio::test]
async fn the_same_key_for_a_different_request_is_rejected() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);
    store
        .run(actor, "key-1", fp(r#"{"title":"a"}"#), || async {
            counted(&calls, 201)
        })
        .await
        .unwrap();

    let err = store
        .run(actor, "key-1", fp(r#"{"title":"b"}"#), || async {
            counted(&calls, 201)
        })
        .await
        .unwrap_err();

    assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err.code, "idempotency_key_reused");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_invalid_key_is_a_bad_request_and_nothing_runs() {
    let (_db, pool) = database(2).await;
    let store = store(&pool);
    let calls = AtomicUsize::new(0);
    for key in ["", "caf\u{e9}", &"k".repeat(256)] {
        let err = store
            .run(Uuid::new_v4(), key, fp("{}"), || async {
                counted(&calls, 201)
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.status, err.code),
            (StatusCode::BAD_REQUEST, "invalid_idempotency_key")
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn answers_survive_a_restart() {
    let (db, pool) = database(4).await;
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);
    let (first, _) = store(&pool)
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();
    pool.close().await;

    let pool = db.pool(4).await;
    let (again, replayed) = store(&pool)
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();

    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_error_is_not_stored_so_a_retry_runs_again() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);

    let (failed, replayed) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 503) })
        .await
        .unwrap();
    assert_eq!((failed.status, replayed), (503, false));
    let (retried, replayed) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();

    assert_eq!((retried.status, replayed), (201, false));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_client_error_is_stored_and_replayed() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);
    let (first, _) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 409) })
        .await
        .unwrap();
    let (again, replayed) = store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();
    assert!(replayed);
    assert_eq!((again.status, again), (409, first));
}

#[tokio::test]
async fn an_answer_older_than_the_retention_window_counts_as_new() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);
    store
        .run(actor, "key-1", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();
    age_all_rows(&pool, "25 hours").await;

    // Even a different request may reuse the expired key.
    let (fresh, replayed) = store
        .run(actor, "key-1", fp(r#"{"other":1}"#), || async {
            counted(&calls, 201)
        })
        .await
        .unwrap();
    assert!(!replayed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let (again, replayed) = store
        .run(actor, "key-1", fp(r#"{"other":1}"#), || async {
            counted(&calls, 201)
        })
        .await
        .unwrap();
    assert!(replayed);
    assert_eq!(again, fresh);
}

#[tokio::test]
async fn keys_belong_to_their_actor() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let calls = AtomicUsize::new(0);
    for actor in [Uuid::new_v4(), Uuid::new_v4()] {
        let (_, replayed) = store
            .run(actor, "shared-key", fp("{}"), || async {
                counted(&calls, 201)
            })
            .await
            .unwrap();
        assert!(!replayed);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn purging_removes_only_expired_answers() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let actor = Uuid::new_v4();
    let calls = AtomicUsize::new(0);
    store
        .run(actor, "old", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();
    age_all_rows(&pool, "25 hours").await;
    store
        .run(actor, "new", fp("{}"), || async { counted(&calls, 201) })
        .await
        .unwrap();

    assert_eq!(store.purge_expired().await.unwrap(), 1);

    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(keys, ["new"]);
    assert_eq!(store.purge_expired().await.unwrap(), 0);
}

#[tokio::test]
async fn an_answer_asking_for_a_retry_is_not_stored() {
    let (_db, pool) = database(4).await;
    let store = store(&pool);
    let calls = AtomicUsize::new(0);
    let actor = Uuid::now_v7();
    let fp = fp("{}");
    let retry = || async {
        let mut a = counted(&calls, 409);
        a.retry_after = Some("1".to_owned());
        a
    };
    let (first, replayed) = store.run(actor, "k", fp, retry).await.unwrap();
    assert!(!replayed);
    assert_eq!(first.retry_after.as_deref(), Some("1"));
    let (second, replayed) = store
        .run(actor, "k", fp, || async { counted(&calls, 200) })
        .await
        .unwrap();
    assert!(!replayed, "the retry ran the command again");
    assert_eq!(second.status, 200);
}
