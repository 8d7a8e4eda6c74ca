//! A real WebSocket client for the gateway's end-to-end tests, and gateway
//! nodes started on port 0 over a test app's database.
#![allow(dead_code)]

use std::time::Duration;

use chat::App;
use chat::app::Parts;
use chat_gateway::GatewayConfig;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::support::{TestApp, User, test_config};

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How the socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Close(u16),
    /// Closed without a close frame, or with an error.
    Dropped,
}

pub fn ws_url(base: &str, token: &str) -> String {
    format!(
        "{}/v1/ws?access_token={token}",
        base.replacen("http", "ws", 1)
    )
}

impl Ws {
    pub async fn connect(base: &str, user: &User) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(ws_url(base, &user.token))
            .await
            .expect("the WebSocket opens");
        Ws { stream }
    }

    /// A client whose kernel receive buffer is tiny, so it stalls fast when
    /// it stops reading.
    pub async fn connect_small_buffer(base: &str, user: &User) -> Ws {
        let url = ws_url(base, &user.token);
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .expect("an address");
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("a buffer size");
        let tcp = socket.connect(addr).await.expect("connects");
        let request = url.into_client_request().expect("a request");
        let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
            .await
            .expect("the WebSocket opens");
        Ws { stream }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::text(frame.to_string())).await;
    }

    pub async fn send_raw(&mut self, msg: Message) {
        let _ = self.stream.send(msg).await;
    }

    /// The next JSON frame, or how the socket ended.
    pub async fn next(&mut self, wait: Duration) -> Result<Value, Ended> {
        loop {
            let msg = tokio::time::timeout(wait, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {wait:?}"));
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Ok(serde_json::from_str(t.as_str()).expect("JSON frames"));
                }
                Some(Ok(Message::Close(Some(c)))) => return Err(Ended::Close(c.code.into())),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return Err(Ended::Dropped);
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next frame of `kind`, skipping others (presence, typing…).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let f = self.next(WAIT).await.expect("the socket stays open");
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// Subscribe and answer the position the stream starts after.
    pub async fn subscribe(&mut self, after: Option<u64>) -> u64 {
        let frame = match after {
            Some(p) => json!({"type": "subscribe", "after_position": p}),
            None => json!({"type": "subscribe"}),
        };
        self.send(frame).await;
        let f = self.next_of("subscribed").await;
        f["position"].as_u64().expect("a position")
    }

    /// Subscribe from now and read until `position` has been seen (the
    /// node's tail may not have routed it yet); answers `position`.
    pub async fn subscribe_past(&mut self, position: u64) -> u64 {
        if self.subscribe(None).await < position {
            self.events_through(position).await;
        }
        position
    }

    /// The next event frame.
    pub async fn event(&mut self) -> Value {
        self.next_of("event").await
    }

    /// Event frames until one at `position` or later.
    pub async fn events_through(&mut self, position: u64) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let e = self.event().await;
            let p = e["position"].as_u64().expect("a position");
            out.push(e);
            if p >= position {
                return out;
            }
        }
    }

    /// Read until the socket ends.
    pub async fn ended(&mut self) -> Ended {
        loop {
            if let Err(end) = self.next(WAIT).await {
                return end;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

pub fn positions(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["position"].as_u64().expect("a position"))
        .collect()
}

/// A test app without its own gateway (commands, queries, projector).
pub async fn app_without_gateway() -> TestApp {
    let db = chat_testkit::TestDb::create().await;
    let mut config = test_config(&db);
    config.parts.gateway = false;
    TestApp::spawn_with(db, config).await
}

/// A gateway node on port 0 over `app`'s database; answers its base URL.
/// It runs until the test's runtime ends.
pub async fn gateway_node(app: &TestApp, gateway: GatewayConfig) -> (String, App) {
    let mut config = app.config.clone();
    config.parts = Parts {
        commands: false,
        queries: false,
        projector: false,
        gateway: true,
    };
    let node = App::build_with_gateway(config, gateway)
        .await
        .expect("a gateway node builds");
    (format!("http://{}", node.local_addr()), node)
}

pub fn start(node: App) {
    tokio::spawn(node.run_until_stopped(std::future::pending()));
}

/// Gateway settings for tests: Redis under a prefix of this test's own.
pub fn redis_config() -> GatewayConfig {
    let url = std::env::var("REDIS_URL_TEST").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    GatewayConfig {
        redis_url: Some(url),
        redis_prefix: format!("chat_test_{}", Uuid::new_v4().simple()),
        ..GatewayConfig::default()
    }
}

pub async fn add_members(app: &TestApp, chat: Uuid, admin: &User, users: &[&User]) -> u64 {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let r = app
        .post(
            &format!("/v1/chats/{chat}/members"),
            admin,
            Some(json!({"user_ids": ids})),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    pos(&r.body)
}

pub async fn remove_member(app: &TestApp, chat: Uuid, admin: &User, user: &User) -> u64 {
    let r = app
        .delete(&format!("/v1/chats/{chat}/members/{}", user.id), admin)
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    pos(&r.body)
}

pub async fn message(app: &TestApp, chat: Uuid, from: &User, text: &str) -> u64 {
    let r = app
        .send(chat, from, &Uuid::new_v4().to_string(), text)
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    pos(&r.body)
}

/// A change in the user's own stream (their profile).
pub async fn own_event(app: &TestApp, user: &User, name: &str) -> u64 {
    let r = app
        .call(
            Method::PUT,
            "/v1/me/profile",
            Some(&user.token),
            Some(json!({"display_name": name})),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    pos(&r.body)
}

pub fn pos(body: &Value) -> u64 {
    body["position"].as_u64().expect("a position in the answer")
}
