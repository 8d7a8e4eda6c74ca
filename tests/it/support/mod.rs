//! End-to-end test support: the real app (`App::build`, every route) on port
//! 0 against a fresh database, and a typed client with one method per
//! endpoint.
#![allow(dead_code)]

mod node;

use std::time::Duration;

use chat::{App, AppConfig};
use chat_common::config::Secret;
use chat_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub use node::ServeNode;

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

/// A running app and what it runs on.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    /// Always `Some` while the app lives; taken by `restart`.
    db: Option<TestDb>,
    pub config: AppConfig,
    /// The running app's shared state (for calling jobs directly).
    pub state: chat::app::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Test defaults: a fixed token key, generous rate limits.
pub fn test_config(db: &TestDb) -> AppConfig {
    let mut config = AppConfig::dev(Secret::new(db.url.clone()), Secret::new(SECRET));
    let command = &mut config.command;
    command.rate_limits.messages.per_second = 10_000.0;
    command.rate_limits.messages.burst = 10_000;
    command.rate_limits.commands.per_second = 10_000.0;
    command.rate_limits.commands.burst = 10_000;
    command.rate_limits.auth.per_second = 10_000.0;
    command.rate_limits.auth.burst = 10_000;
    // Each test's uploads in a directory of its own, outside the work tree.
    config.media.backend = chat_media::MediaBackend::Local(
        std::env::temp_dir().join(format!("chat-media-test-{}", Uuid::new_v4().simple())),
    );
    config
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = TestDb::create().await;
        let config = test_config(&db);
        Self::spawn_with(db, config).await
    }

    pub async fn spawn_with(db: TestDb, config: AppConfig) -> TestApp {
        chat_common::telemetry::init_for_tests();
        let app = App::build(config.clone()).await.expect("the app builds");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client");
        TestApp {
            base,
            http,
            db: Some(db),
            config,
            state,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stop the app (graceful) and start a new one on the same database:
    /// what survives is what was durable.
    pub async fn restart(mut self) -> TestApp {
        self.stop_now().await;
        let db = self.db.take().expect("a database");
        TestApp::spawn_with(db, self.config.clone()).await
    }

    async fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// `GET /readyz` (200), as JSON.
    pub async fn readyz(&self) -> Value {
        let r = self.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        r.body
    }

    pub fn db(&self) -> &TestDb {
        self.db.as_ref().expect("a database")
    }

    /// Any request; answers status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_with(method, path, token, body, &[]).await
    }

    /// A GET as `who` that must succeed, answered once the read models
    /// reflect position `at` (read-your-writes).
    pub async fn get_at(&self, who: &User, path: &str, at: u64) -> Resp {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self
            .call(
                Method::GET,
                &format!("{path}{sep}min_position={at}"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.raw);
        r
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the request reaches the app");
        Resp::read(res).await
    }

    pub async fn register(&self, username: &str) -> User {
        let r = self
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({ "username": username, "password": "correct horse battery" })),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "register {username}: {:?}",
            r.body
        );
        User {
            id: r.body["user_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("user_id"),
            token: r.body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: r.body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }

    /// Register `n` users with unique names.
    pub async fn users(&self, n: usize) -> Vec<User> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(
                self.register(&format!(
                    "u{i}_{}",
                    &Uuid::new_v4().simple().to_string()[..8]
                ))
                .await,
            );
        }
        out
    }

    pub async fn direct(&self, from: &User, to: &User) -> Resp {
        self.call(
            Method::POST,
            "/v1/chats/direct",
            Some(&from.token),
            Some(json!({ "recipient_id": to.id })),
        )
        .await
    }

    /// A direct chat `from` → `to`, accepted by `to`.
    pub async fn accepted_direct(&self, from: &User, to: &User) -> Uuid {
        let r = self.direct(from, to).await;
        let chat_id = r.id("chat_id");
        let a = self
            .post(&format!("/v1/chats/{chat_id}/accept"), to, None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        chat_id
    }

    pub async fn group(&self, owner: &User, members: &[&User], title: &str) -> Uuid {
        let ids: Vec<Uuid> = members.iter().map(|u| u.id).collect();
        let r = self
            .call(
                Method::POST,
                "/v1/chats/group",
                Some(&owner.token),
                Some(json!({ "title": title, "member_ids": ids })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.id("chat_id")
    }

    pub async fn send(&self, chat_id: Uuid, from: &User, client_msg_id: &str, text: &str) -> Resp {
        self.call(
            Method::POST,
            &format!("/v1/chats/{chat_id}/messages"),
            Some(&from.token),
            Some(json!({ "client_msg_id": client_msg_id, "kind": "text", "text": text })),
        )
        .await
    }

    pub async fn post(&self, path: &str, who: &User, body: Option<Value>) -> Resp {
        self.call(Method::POST, path, Some(&who.token), body).await
    }

    pub async fn get(&self, path: &str, who: &User) -> Resp {
        self.call(Method::GET, path, Some(&who.token), None).await
    }

    pub async fn delete(&self, path: &str, who: &User) -> Resp {
        self.call(Method::DELETE, path, Some(&who.token), None)
            .await
    }

    /// The events of a stream as the app's event store reads them (sealed
    /// personal data opened while its key exists).
    pub async fn events(&self, stream: &str) -> Vec<(String, Value)> {
        chat_store::EventStore::read_stream(
            self.state.store.as_ref(),
            stream,
            1,
            chat_store::Direction::Forward,
            100_000,
        )
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.event_type, e.payload))
        .collect()
    }

    pub async fn event_count(&self) -> i64 {
        let pool = self.db().pool(1).await;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A restarted app lives on with the database and the media.
        if self.db.is_some()
            && let chat_media::MediaBackend::Local(dir) = &self.config.media.backend
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
    pub refresh: String,
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub raw: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let raw = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            raw,
            headers,
        }
    }

    pub fn id(&self, field: &str) -> Uuid {
        self.body[field]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{field} in {:?} ({})", self.body, self.status))
    }

    /// Assert a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.raw);
        assert_eq!(self.body["code"], code, "{}", self.raw);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/problem+json", "{}", self.raw);
    }
}

/// The event types of a stream, in order.
pub async fn types(app: &TestApp, stream: &str) -> Vec<String> {
    app.events(stream)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// The standard command answer: status, stream, and a version and position.
#[track_caller]
pub fn assert_answer(r: &Resp, status: u16, stream: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.raw);
    assert_eq!(r.body["stream"], stream, "{}", r.raw);
    assert!(
        r.body["position"].as_u64().is_some_and(|p| p > 0),
        "position in {}",
        r.raw
    );
    assert!(
        r.body["version"].as_u64().is_some_and(|v| v > 0),
        "version in {}",
        r.raw
    );
}
