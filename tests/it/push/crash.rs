//! Nodes stopped, or killed with SIGKILL, between a message and its
//! notification, or in the middle of a burst.

use std::time::Duration;

use chat_testkit::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

use super::receiver::{Receiver, covered, quiet, say, subscribe, text};
use crate::support::{ServeNode, TestApp, User, test_config};

#[tokio::test]
async fn a_burst_pending_when_the_node_stops_is_sent_once_after_the_restart() {
    let rx = Receiver::start();
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.push = chat_push::PushConfig::with_endpoints(vec!["http://127.0.0.1:".into()]);
    config.push.delay = Duration::from_secs(3);
    let app = TestApp::spawn_with(db, config).await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let phone = rx.device("ok").await;
    subscribe(&app, &bob, &phone).await;
    say(&app, chat, &alice, text("before")).await;
    say(&app, chat, &alice, text("the stop")).await;
    let app = app.restart().await;
    let got = rx.until(&phone, |g| covered(g) >= 2).await;
    assert_eq!(covered(&got), 2);
    quiet(&rx, &phone, got.len()).await;
    drop(app);
}

/// `chat serve` pushing to `receiver` after `delay_ms`, to be killed with
/// SIGKILL.
async fn start_node(db: &TestDb, receiver: &Receiver, delay_ms: u64) -> (ServeNode, String) {
    let node = ServeNode::start(
        &db.url,
        &[
            ("PUSH_ENDPOINT_ALLOW", format!("{}/", receiver.base)),
            ("PUSH_DELAY_MS", delay_ms.to_string()),
        ],
    )
    .await;
    let base = node.base.clone();
    (node, base)
}

async fn call(base: &str, token: Option<&str>, path: &str, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A node killed with SIGKILL mid-burst: its burst's transaction is open
/// (the pending rows not deleted) and the marks of three devices are held
/// by a lock, as a slow disk would. The next node takes the burst again
/// and tells no device twice: the first three were marked, and the other
/// three's marks, already sent to Postgres, land when the lock goes. So
/// every device is told of every message exactly once.
#[tokio::test]
async fn a_node_killed_mid_burst_or_before_it_loses_nothing_and_repeats_nothing() {
    let rx = Receiver::start();
    let db = TestDb::create().await;
    let (node, base) = start_node(&db, &rx, 200).await;
    let mut users = Vec::new();
    let names: Vec<String> = (0..2)
        .map(|i| format!("k9_{i}_{}", &Uuid::now_v7().simple().to_string()[24..]))
        .collect();
    for name in &names {
        let r = call(
            &base,
            None,
            "/v1/auth/register",
            json!({"username": name, "password": "correct horse battery"}),
        )
        .await;
        users.push((
            r["user_id"].as_str().unwrap().parse::<Uuid>().unwrap(),
            r["access_token"].as_str().unwrap().to_owned(),
        ));
    }
    let ((_, alice), (bob_id, bob)) = (users[0].clone(), users[1].clone());
    let chat = call(
        &base,
        Some(&alice),
        "/v1/chats/direct",
        json!({"recipient_id": bob_id}),
    )
    .await["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &base,
        Some(&bob),
        &format!("/v1/chats/{chat}/accept"),
        json!(null),
    )
    .await;
    let mut devices = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..6 {
        let d = rx.device("ok").await;
        let mut body = d.clone();
        body["kind"] = json!("webpush");
        let r = call(&base, Some(&bob), "/v1/me/push-subscriptions", body).await;
        ids.push(
            r["subscription_id"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap(),
        );
        devices.push(d);
    }
    // Hold the marks of the last three devices.
    let pool = db.pool(2).await;
    let chat_id: Uuid = chat.parse().unwrap();
    let mut hold = pool.begin().await.unwrap();
    for id in &ids[3..] {
        sqlx::query(
            "INSERT INTO push.marks (subscription_id, chat_id, position) VALUES ($1, $2, 0)",
        )
        .bind(id)
        .bind(chat_id)
        .execute(&mut *hold)
        .await
        .unwrap();
    }
    for t in ["a", "b", "c"] {
        call(
            &base,
            Some(&alice),
            &format!("/v1/chats/{chat}/messages"),
            text(t),
        )
        .await;
    }
    // Every device was sent the burst; the first three are marked.
    for d in &devices {
        rx.until(d, |g| covered(g) >= 3).await;
    }
    let mut marked = 0i64;
    for _ in 0..100 {
        (marked,) =
            sqlx::query_as("SELECT count(*) FROM push.marks WHERE chat_id = $1 AND position > 0")
                .bind(chat_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if marked == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(marked, 3, "the unlocked devices are marked before the kill");
    node.kill_9();
    hold.rollback().await.unwrap();

    let (node, _) = start_node(&db, &rx, 200).await;
    pending_until(&pool, 0).await;
    // The new node has had time for a round, and sent nothing more.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for (i, d) in devices.iter().enumerate() {
        let got = rx.state(d).await["received"].as_array().unwrap().clone();
        assert_eq!(got.len(), 1, "device {i}: {got:?}");
        assert_eq!(got[0]["payload"]["count"], 3, "{got:?}");
    }

    // Killed before a burst was due: the next node sends all of it.
    node.kill_9();
    let (node, base) = start_node(&db, &rx, 60_000).await;
    let alice = call(
        &base,
        None,
        "/v1/auth/login",
        json!({"username": names[0], "password": "correct horse battery"}),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for t in ["d", "e"] {
        call(
            &base,
            Some(&alice),
            &format!("/v1/chats/{chat}/messages"),
            text(t),
        )
        .await;
    }
    pending_until(&pool, 2).await;
    node.kill_9();
    let (_node, _) = start_node(&db, &rx, 200).await;
    for d in &devices {
        let got = rx.until(d, |g| covered(g) >= 5).await;
        assert_eq!(covered(&got), 5, "{got:?}");
    }
}

/// Until `push.pending` holds `n` rows (0: everything was sent).
async fn pending_until(pool: &sqlx::PgPool, n: i64) {
    for _ in 0..200 {
        let (pending,): (i64,) = sqlx::query_as("SELECT count(*) FROM push.pending")
            .fetch_one(pool)
            .await
            .unwrap();
        if pending == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("push.pending never held {n} rows");
}
