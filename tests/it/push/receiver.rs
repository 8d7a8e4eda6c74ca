//! The Web Push receiver process (`tests/push/receiver.py`) and the push
//! tests' helpers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_testkit::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, User, test_config};

/// The receiver process; killed when dropped.
pub(super) struct Receiver {
    child: Child,
    pub(super) base: String,
    http: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    pub(super) fn start() -> Receiver {
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
    pub(super) async fn device(&self, mode: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/devices?mode={mode}", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    pub(super) async fn state(&self, device: &Value) -> Value {
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
    pub(super) async fn until(
        &self,
        device: &Value,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
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
pub(super) fn covered(got: &[Value]) -> u64 {
    got.iter()
        .map(|n| n["payload"]["count"].as_u64().unwrap())
        .sum()
}

pub(super) async fn app() -> TestApp {
    app_with_delay(Duration::from_millis(300)).await
}

/// The app pushing to loopback receivers, `delay` after a burst starts.
pub(super) async fn app_with_delay(delay: Duration) -> TestApp {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.push = chat_push::PushConfig::with_endpoints(vec!["http://127.0.0.1:".into()]);
    config.push.delay = delay;
    TestApp::spawn_with(db, config).await
}

pub(super) async fn subscribe(app: &TestApp, who: &User, device: &Value) -> Uuid {
    let mut body = device.clone();
    body["kind"] = json!("webpush");
    let r = app.post("/v1/me/push-subscriptions", who, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.id("subscription_id")
}

pub(super) async fn say(app: &TestApp, chat: Uuid, from: &User, body: Value) {
    let r = app
        .post(&format!("/v1/chats/{chat}/messages"), from, Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
}

pub(super) fn text(t: &str) -> Value {
    json!({"client_msg_id": Uuid::now_v7().to_string(), "kind": "text", "text": t})
}

/// Nothing new arrives within a few delays.
pub(super) async fn quiet(rx: &Receiver, device: &Value, had: usize) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = rx.state(device).await;
    assert_eq!(s["received"].as_array().unwrap().len(), had, "{s}");
}

/// A fresh key pair (PKCS#8 private, SPKI public PEM) from the openssl CLI,
/// `genpkey` given `args`: what a provider's console hands out.
pub(super) fn key_pair(args: &[&str]) -> (String, String) {
    let private = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl (scripts/services installs it)");
    assert!(private.status.success(), "openssl genpkey {args:?}");
    let path = std::env::temp_dir().join(format!("push-key-{}", Uuid::new_v4().simple()));
    std::fs::write(&path, &private.stdout).unwrap();
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&path)
        .output()
        .expect("openssl");
    let _ = std::fs::remove_file(&path);
    (
        String::from_utf8(private.stdout).unwrap(),
        String::from_utf8(public.stdout).unwrap(),
    )
}
