//! The in-run baseline of `chat-bench e2e`: a minimal durable chat server,
//! as one would write it in an afternoon with axum and sqlx. One WebSocket
//! per user; a send checks the sender is a participant, inserts the message
//! and updates the chat's last message in one commit, then pushes the
//! message to the other members' sockets and answers. No event log, no read
//! models, no idempotency table: the naive flow our server has to beat.
//!
//! Tokens are the user id itself (`Authorization: Bearer <uuid>`): the
//! baseline has no auth to speak of, which only flatters it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The database (created by the caller).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS b_users (id uuid PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS b_chats (id uuid PRIMARY KEY, last_seq bigint NOT NULL DEFAULT 0,
  last_message_id uuid, last_message_at timestamptz);
CREATE TABLE IF NOT EXISTS b_members (chat_id uuid NOT NULL, user_id uuid NOT NULL,
  PRIMARY KEY (chat_id, user_id));
CREATE TABLE IF NOT EXISTS b_messages (id uuid PRIMARY KEY, chat_id uuid NOT NULL,
  seq bigint NOT NULL, sender uuid NOT NULL, client_msg_id text NOT NULL, body text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(), UNIQUE (chat_id, sender, client_msg_id));
";

type Sockets = Arc<Mutex<HashMap<Uuid, Vec<mpsc::UnboundedSender<String>>>>>;

#[derive(Clone)]
struct Baseline {
    pool: PgPool,
    sockets: Sockets,
}

pub async fn serve(args: BaselineArgs) -> anyhow::Result<()> {
    let pool = chat_store::postgres::connect(&args.database_url, 40).await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    let state = Baseline {
        pool,
        sockets: Arc::default(),
    };
    let app = Router::new()
        .route("/users", post(register))
        .route("/chats", post(create_chat))
        .route("/chats/{id}/messages", post(send))
        .route("/ws", get(ws))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let addr = listener.local_addr()?;
    // The same address line `chat serve` logs, for the same launcher.
    println!(
        "{}",
        json!({"message": "listening", "addr": addr.to_string()})
    );
    axum::serve(listener, app).await?;
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

fn caller(headers: &HeaderMap) -> Option<Uuid> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    auth.strip_prefix("Bearer ")?.parse().ok()
}

#[derive(Deserialize)]
struct Register {
    name: String,
}

async fn register(State(s): State<Baseline>, Json(b): Json<Register>) -> Response {
    let id = Uuid::now_v7();
    match sqlx::query("INSERT INTO b_users (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(&b.name)
        .execute(&s.pool)
        .await
    {
        Ok(_) => (StatusCode::CREATED, Json(json!({"user_id": id}))).into_response(),
        Err(e) => fail(e),
    }
}

#[derive(Deserialize)]
struct CreateChat {
    member_ids: Vec<Uuid>,
}

async fn create_chat(
    State(s): State<Baseline>,
    headers: HeaderMap,
    Json(b): Json<CreateChat>,
) -> Response {
    let Some(me) = caller(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id = Uuid::now_v7();
    let mut members = b.member_ids;
    members.push(me);
    let result = async {
        let mut tx = s.pool.begin().await?;
        sqlx::query("INSERT INTO b_chats (id) VALUES ($1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO b_members (chat_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) u \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&members)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::CREATED, Json(json!({"chat_id": id}))).into_response(),
        Err(e) => fail(e),
    }
}

#[derive(Deserialize)]
struct Send {
    client_msg_id: String,
    text: String,
}

async fn send(
    State(s): State<Baseline>,
    Path(chat): Path<Uuid>,
    headers: HeaderMap,
    Json(b): Json<Send>,
) -> Response {
    let Some(me) = caller(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id = Uuid::now_v7();
    let result = async {
        let mut tx = s.pool.begin().await?;
        let members: Vec<(Uuid,)> =
            sqlx::query_as("SELECT user_id FROM b_members WHERE chat_id = $1")
                .bind(chat)
                .fetch_all(&mut *tx)
                .await?;
        if !members.iter().any(|(u,)| *u == me) {
            return Ok(None);
        }
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE b_chats SET last_seq = last_seq + 1, last_message_id = $2, \
             last_message_at = now() WHERE id = $1 RETURNING last_seq",
        )
        .bind(chat)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO b_messages (id, chat_id, seq, sender, client_msg_id, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(chat)
        .bind(seq)
        .bind(me)
        .bind(&b.client_msg_id)
        .bind(&b.text)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some((seq, members)))
    }
    .await;
    let (seq, members) = match result {
        Ok(Some(found)) => found,
        Ok(None) => return StatusCode::FORBIDDEN.into_response(),
        Err(e) => return fail(e),
    };
    let frame = json!({"type": "message", "chat_id": chat, "message_id": id, "seq": seq,
                       "sender_id": me, "client_msg_id": b.client_msg_id, "text": b.text})
    .to_string();
    {
        let mut sockets = s.sockets.lock().unwrap_or_else(|p| p.into_inner());
        for (user,) in members.iter().filter(|(u,)| *u != me) {
            if let Some(list) = sockets.get_mut(user) {
                list.retain(|tx| tx.send(frame.clone()).is_ok());
            }
        }
    }
    let body: Value = json!({"message_id": id, "seq": seq});
    (StatusCode::CREATED, Json(body)).into_response()
}

#[derive(Deserialize)]
struct WsQuery {
    token: Uuid,
}

async fn ws(State(s): State<Baseline>, Query(q): Query<WsQuery>, up: WebSocketUpgrade) -> Response {
    up.on_upgrade(move |socket| session(s, q.token, socket))
}

async fn session(s: Baseline, user: Uuid, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    s.sockets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(user)
        .or_default()
        .push(tx);
    let (mut sink, mut stream) = socket.split();
    let _ = sink
        .send(Message::text(json!({"type": "subscribed"}).to_string()))
        .await;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => if sink.send(Message::text(frame)).await.is_err() { break },
                None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(_)) => {}
                _ => break,
            },
        }
    }
}
