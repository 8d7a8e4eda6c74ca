//! # chat-socketio: seed 001's Socket.IO clients, unchanged
//!
//! Owns `/socket.io/` (Socket.IO v4, polling and WebSocket transports,
//! through `socketioxide`) and nothing of its own below it:
//!
//! * **what a client sees** is its gateway [`Client`](chat_gateway::client::Client)'s
//!   per-user stream, the same frames `/v1/ws` sends after the same
//!   visibility rule, exactly once and in order, replayed from
//!   `auth.afterPosition`; [`render`] only renames them to seed 001's
//!   events, and [`unread`] keeps `unread_message` counts;
//! * **what a client does** runs as the HTTP command it stands for, through
//!   the command side's own router in process ([`commands`], [`actions`]):
//!   same rules, idempotency, rate limits and problem codes;
//! * **several nodes**: each socket is a gateway client of its node, whose
//!   tail and Redis signals already span nodes; no Socket.IO adapter, so
//!   nothing bypasses the log's order. Polling needs sticky sessions (as
//!   every Socket.IO server does); WebSocket-only clients do not.
//!
//! See `docs/decisions/0013-socket-io.md` and `api.md`, "Clients".

pub mod actions;
pub mod render;
pub mod session;
pub mod unread;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use chat_common::media_url::MediaUrlSigner;
use chat_common::read_models::CheckpointWatch;
use chat_gateway::Gateway;
use chat_store::EventStore;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};

use crate::actions::{Action, Conn, Echoes};
use crate::session::Session;
use chat_gateway::commands::Commands;

/// Client events a socket may have waiting; more is refused (`rate_limited`).
const PENDING: usize = 64;

/// What every socket of a node shares.
#[derive(Clone)]
pub struct Shared {
    pub gateway: Gateway,
    /// The command side's router (its own layers, no HTTP server around it).
    pub commands: Router,
    pub store: Arc<dyn EventStore>,
    pub pool: PgPool,
    /// The read models' checkpoints, for seeding unread counts.
    pub checkpoints: CheckpointWatch,
    /// Signs media URLs in `media_received` (when this node serves media).
    pub media_urls: Option<MediaUrlSigner>,
    /// How often a socket's presence is refreshed.
    pub keepalive: Duration,
}

/// Why a connection is refused: its `connect_error` message.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `auth.token`, else `?token=`, else `Authorization: Bearer …`.
fn token(s: &SocketRef, auth: &Value) -> Option<String> {
    let bare = |t: &str| t.trim().trim_start_matches("Bearer ").trim().to_owned();
    if let Some(t) = auth.get("token").and_then(Value::as_str) {
        return Some(bare(t));
    }
    let parts = s.req_parts();
    if let Some(q) = parts.uri.query() {
        for pair in q.split('&') {
            if let Some(t) = pair.strip_prefix("token=") {
                return Some(bare(t));
            }
        }
    }
    let h = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(bare(h))
}

fn verified(
    shared: &Shared,
    s: &SocketRef,
    auth: &Value,
) -> Result<(chat_common::auth::Principal, Option<tokio::time::Instant>), Refused> {
    let token = token(s, auth).ok_or_else(|| Refused("missing_token".into()))?;
    shared
        .gateway
        .authenticate(&token)
        .map_err(|e| Refused(e.code.to_owned()))
}

/// `/socket.io/`, and the Socket.IO handle (to close every socket).
pub fn router(shared: Shared) -> (Router, SocketIo) {
    let cfg = shared.gateway.config().clone();
    let (svc, io) = SocketIo::builder()
        .max_buffer_size(cfg.queue_capacity)
        .ws_max_message_size(cfg.max_frame_bytes)
        .ws_max_frame_size(cfg.max_frame_bytes)
        .max_payload(cfg.max_frame_bytes as u64)
        .build_svc();
    let check = shared.clone();
    let authenticate = move |s: SocketRef, TryData(auth): TryData<Value>| {
        let shared = check.clone();
        async move {
            let auth = auth.unwrap_or(Value::Null);
            let (who, _) = verified(&shared, &s, &auth)?;
            shared
                .gateway
                .admit(&who)
                .map_err(|e| Refused(e.code.to_owned()))
        }
    };
    let connect = move |s: SocketRef, TryData(auth): TryData<Value>| {
        let shared = shared.clone();
        async move {
            let auth = auth.unwrap_or(Value::Null);
            if let Ok((who, deadline)) = verified(&shared, &s, &auth) {
                start(shared, s, &auth, who, deadline).await;
            }
        }
    };
    io.ns("/", connect.with(authenticate));
    (Router::new().route_service("/socket.io/", svc), io)
}

/// An admitted socket: its client, its ordered worker, its session.
async fn start(
    shared: Shared,
    s: SocketRef,
    auth: &Value,
    who: chat_common::auth::Principal,
    deadline: Option<tokio::time::Instant>,
) {
    let client = shared.gateway.attach(&who, deadline).await;
    let parts = s.req_parts();
    let commands = Commands::new(
        "sio",
        shared.commands.clone(),
        token(&s, auth).unwrap_or_default(),
        parts.extensions.get().copied(),
        parts.headers.get("x-forwarded-for").cloned(),
    );
    let (actions_tx, actions_rx) = mpsc::channel::<Action>(PENDING);
    let echoes = Echoes::default();
    let conn = Conn {
        user: who.user_id,
        commands: commands.clone(),
        actions: actions_tx,
        gateway: shared.gateway.clone(),
        store: shared.store.clone(),
        echoes: echoes.clone(),
    };
    // Handlers are called in the order the client's packets arrive; their
    // futures would run in any order, so they only queue, and one worker
    // runs the queue: one client's sends are appended in the order sent.
    let (jobs, mut queue) = mpsc::channel::<(SocketRef, AckSender, String, Value)>(PENDING);
    tokio::spawn(async move {
        while let Some((s, ack, event, data)) = queue.recv().await {
            conn.on(s, ack, &event, data).await;
        }
    });
    s.on_fallback(
        move |s: SocketRef, Event(event): Event, ack: AckSender, TryData(data): TryData<Value>| {
            let data = data.unwrap_or(Value::Null);
            if jobs
                .try_send((s.clone(), ack, event.clone(), data))
                .is_err()
            {
                let _ = s.emit(
                    "error",
                    &json!({"code": "rate_limited", "event": event,
                            "message": "too many events waiting; slow down"}),
                );
            }
            async {}
        },
    );
    let gone = Arc::new(Notify::new());
    let on_gone = gone.clone();
    s.on_disconnect(move || {
        let gone = on_gone.clone();
        async move { gone.notify_one() }
    });
    let after = auth.get("afterPosition").and_then(Value::as_u64);
    tokio::spawn(
        Session {
            socket: s,
            client,
            shared,
            actions: actions_rx,
            gone,
            echoes,
            commands,
            after,
        }
        .run(),
    );
}
