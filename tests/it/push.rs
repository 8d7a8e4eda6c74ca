//! Push notifications end to end, against a real Web Push receiver on
//! loopback (`tests/push/receiver.py`): it holds each device's private key,
//! decrypts every push with the `http_ece` library (RFC 8291) and checks
//! the VAPID JWT with `cryptography` (RFC 8292), independently of our code.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_testkit::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::Ws;
use crate::support::{TestApp, User, test_config};

/// The receiver process; killed when dropped.
struct Receiver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Receiver {
        let python = std::env::var("PUSH_RECEIVER_PYTHON").unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_default();
            let tools = std::env::var("CHAT_TOOLS_DIR")
                .unwrap_or_else(|_| format!("{home}/.cache/chat-test"));
            format!("{tools}/venv-push/bin/python")
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/push/receiver.py");
        let mut child = Command::new(&python)
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} (scripts/services installs it): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver says where it listens");
        let port = line.trim().strip_prefix("listening ").expect("a port");
        Receiver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    /// A new device: the subscription JSON a browser would hand over.
    async fn device(&self, mode: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/devices?mode={mode}", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    async fn state(&self, device: &Value) -> Value {
        let endpoint = device["endpoint"].as_str().unwrap();
        self.http
            .get(endpoint)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// What the device decrypted, once `done` holds (at most 20 s).
    async fn until(&self, device: &Value, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..200 {
            let s = self.state(device).await;
            assert_eq!(s["errors"], json!([]), "the receiver found faults");
            let got = s["received"].as_array().unwrap().clone();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the device never got there: {}", self.state(device).await);
    }
}

/// Messages the notifications covered, added up.
fn covered(got: &[Value]) -> u64 {
    got.iter()
        .map(|n| n["payload"]["count"].as_u64().unwrap())
        .sum()
}

async fn app() -> TestApp {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.push = chat_push::PushConfig::with_endpoints(vec!["http://127.0.0.1:".into()]);
    config.push.delay = Duration::from_millis(300);
    TestApp::spawn_with(db, config).await
}

async fn subscribe(app: &TestApp, who: &User, device: &Value) -> Uuid {
    let mut body = device.clone();
    body["kind"] = json!("webpush");
    let r = app.post("/v1/me/push-subscriptions", who, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.id("subscription_id")
}

async fn say(app: &TestApp, chat: Uuid, from: &User, body: Value) {
    let r = app
        .post(&format!("/v1/chats/{chat}/messages"), from, Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
}

fn text(t: &str) -> Value {
    json!({"client_msg_id": Uuid::now_v7().to_string(), "kind": "text", "text": t})
}

/// Nothing new arrives within a few delays.
async fn quiet(rx: &Receiver, device: &Value, had: usize) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = rx.state(device).await;
    assert_eq!(s["received"].as_array().unwrap().len(), had, "{s}");
}

#[tokio::test]
async fn a_burst_reaches_an_offline_device_once_encrypted_and_signed() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let phone = rx.device("ok").await;
    subscribe(&app, &bob, &phone).await;

    for t in ["one", "two", "three"] {
        say(&app, chat, &alice, text(t)).await;
    }
    let got = rx.until(&phone, |g| covered(g) >= 3).await;
    assert_eq!(covered(&got), 3, "every message covered once: {got:?}");
    let last = &got.last().unwrap();
    let p = &last["payload"];
    assert_eq!(p["type"], "message");
    assert_eq!(p["chat_id"], chat.to_string());
    assert_eq!(p["sender_id"], alice.id.to_string());
    assert_eq!(p["preview"], "three");
    assert_eq!(p["badge"], 3, "the badge is bob's unread total");
    assert_eq!(last["topic"], chat.simple().to_string());
    assert_eq!(last["urgency"], "normal");
    // Alice (the sender) has no device, and nothing more comes.
    quiet(&rx, &phone, got.len()).await;
}

#[tokio::test]
async fn online_muted_and_dnd_users_are_left_alone_but_mentions_go_through() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob, carol]: [User; 3] = app.users(3).await.try_into().ok().unwrap();
    let chat = app.group(&alice, &[&bob, &carol], "push").await;
    let phone = rx.device("ok").await;
    subscribe(&app, &bob, &phone).await;

    // Connected: he sees it live.
    let ws = Ws::connect(&app.base, &bob).await;
    say(&app, chat, &alice, text("while online")).await;
    quiet(&rx, &phone, 0).await;
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Muted: quiet, except a mention.
    let r = app
        .post(&format!("/v1/chats/{chat}/mute"), &bob, None)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    say(&app, chat, &alice, text("muted")).await;
    quiet(&rx, &phone, 0).await;
    let mut mention = text("look");
    mention["mentions"] = json!([bob.id]);
    say(&app, chat, &alice, mention).await;
    let got = rx.until(&phone, |g| !g.is_empty()).await;
    assert_eq!(got[0]["payload"]["type"], "mention");
    assert_eq!(got[0]["urgency"], "high");
    assert_eq!(got[0]["payload"]["chat_title"], "push");

    // Do not disturb: nothing, not even a mention.
    let r = app
        .call(
            reqwest::Method::PUT,
            "/v1/me/status",
            Some(&bob.token),
            Some(json!({"status": "dnd"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let mut mention = text("again");
    mention["mentions"] = json!([bob.id]);
    say(&app, chat, &alice, mention).await;
    quiet(&rx, &phone, 1).await;
}

#[tokio::test]
async fn a_gone_device_is_removed_and_a_503_is_retried() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let old = rx.device("gone").await;
    let flaky = rx.device("flaky:2").await;
    let old_id = subscribe(&app, &bob, &old).await;
    let flaky_id = subscribe(&app, &bob, &flaky).await;

    say(&app, chat, &alice, text("hello")).await;
    let got = rx.until(&flaky, |g| !g.is_empty()).await;
    assert_eq!(covered(&got), 1);
    assert_eq!(
        rx.state(&flaky).await["attempts"],
        3,
        "two 503s, then taken"
    );
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscription_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [flaky_id.to_string()], "the 410 one is gone");
    assert_ne!(old_id, flaky_id);
}

#[tokio::test]
async fn subscriptions_are_checked_listed_and_removed() {
    let rx = Receiver::start();
    let app = app().await;
    let [bob, eve]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let device = rx.device("ok").await;

    let key = app.get("/v1/push/vapid-public-key", &bob).await;
    assert_eq!(key.status, 200);
    assert_eq!(
        key.body["public_key"].as_str().unwrap().len(),
        87,
        "65 bytes"
    );

    // Only allowed push services, no user info tricks, real keys.
    for endpoint in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:1@10.0.0.1/x",
        "https://fcm.googleapis.com/fcm/send/x",
    ] {
        let mut b = device.clone();
        b["kind"] = json!("webpush");
        b["endpoint"] = json!(endpoint);
        let r = app.post("/v1/me/push-subscriptions", &bob, Some(b)).await;
        r.problem(400, "push_endpoint_not_allowed");
    }
    let mut b = device.clone();
    b["kind"] = json!("webpush");
    b["keys"]["p256dh"] = json!("AAAA");
    let r = app.post("/v1/me/push-subscriptions", &bob, Some(b)).await;
    r.problem(400, "invalid_push_keys");
    let r = app
        .post(
            "/v1/me/push-subscriptions",
            &bob,
            Some(json!({"kind": "fcm", "token": "abc"})),
        )
        .await;
    r.problem(400, "push_kind_not_configured");

    // The same device twice is one subscription; another user's sign-in on
    // it takes it over.
    let id = subscribe(&app, &bob, &device).await;
    assert_eq!(subscribe(&app, &bob, &device).await, id);
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["endpoint"], device["endpoint"]);
    let r = app
        .delete(&format!("/v1/me/push-subscriptions/{id}"), &eve)
        .await;
    r.problem(404, "push_subscription_not_found");
    let r = app
        .delete(&format!("/v1/me/push-subscriptions/{id}"), &bob)
        .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    assert_eq!(list.body["items"], json!([]));
}

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
