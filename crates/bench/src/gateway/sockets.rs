//! The client side of the gateway benchmark: the HTTP client that sets up
//! users and chats, sockets that authenticate, subscribe and record what
//! reaches them, and the in-process baseline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use chat_common::auth::TokenSigner;
use chat_store::postgres::PgEventStore;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::load::{Clock, text};
use crate::report::Summary;

pub(super) struct Bench {
    pub(super) base: String,
    pub(super) http: reqwest::Client,
    pub(super) signer: TokenSigner,
    pub(super) store: Arc<PgEventStore>,
}

impl Bench {
    pub(super) fn token(&self, user: Uuid) -> anyhow::Result<String> {
        let claims = self.signer.claims(
            user,
            vec![],
            OffsetDateTime::now_utc(),
            time::Duration::hours(4),
        );
        self.signer.sign(&claims).map_err(|e| anyhow!(e))
    }

    pub(super) async fn user(&self, i: usize) -> anyhow::Result<(Uuid, String)> {
        let id = crate::seed::register_user(self.store.as_ref(), "gw", i).await?;
        Ok((id, self.token(id)?))
    }

    /// Users straight into the event store, 16 appends at a time.
    pub(super) async fn users(self: &Arc<Self>, n: usize) -> anyhow::Result<Vec<(Uuid, String)>> {
        futures::stream::iter(0..n)
            .map(|i| {
                let b = self.clone();
                async move { b.user(i).await }
            })
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    pub(super) async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(anyhow!("{path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(super) async fn send(&self, chat: Uuid, token: &str, seq: usize) -> anyhow::Result<()> {
        self.post(
            &format!("/v1/chats/{chat}/messages"),
            token,
            json!({ "client_msg_id": format!("gw-{seq}"), "kind": "text", "text": text(seq) }),
        )
        .await
        .map(|_| ())
    }
}

/// Open, authenticate and subscribe one socket; a task then reads it for
/// good, recording bench messages (and answering pings while reading).
async fn open_socket(base: &str, token: &str, clock: Arc<Clock>) -> anyhow::Result<()> {
    let url = format!(
        "{}/v1/ws?access_token={token}",
        base.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(json!({"type": "subscribe"}).to_string()))
        .await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"subscribed\"") => break,
            Ok(Some(Ok(_))) => continue,
            other => return Err(anyhow!("no subscribed frame: {other:?}")),
        }
    }
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                clock.received(t.as_str());
            }
        }
    });
    Ok(())
}

pub(super) async fn open_sockets(
    base: &str,
    users: &[(Uuid, String)],
    clock: &Arc<Clock>,
) -> anyhow::Result<()> {
    let opened: Vec<anyhow::Result<()>> = futures::stream::iter(users)
        .map(|(_, token)| open_socket(base, token, clock.clone()))
        .buffer_unordered(64)
        .collect()
        .await;
    opened.into_iter().collect()
}

/// The same fan-out through `tokio::sync::broadcast`: `channels` channels
/// with `fanout` receivers each, `count` frames at `rate`/s round-robin.
pub(super) async fn baseline(
    channels: usize,
    fanout: usize,
    rate: u32,
    count: usize,
) -> anyhow::Result<(Summary, usize)> {
    let clock = Arc::new(Clock::new(count));
    let mut senders = Vec::with_capacity(channels);
    for _ in 0..channels {
        let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(4096);
        for _ in 0..fanout {
            let mut rx = tx.subscribe();
            let clock = clock.clone();
            tokio::spawn(async move {
                while let Ok(frame) = rx.recv().await {
                    clock.received(&frame);
                }
            });
        }
        senders.push(tx);
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for seq in 0..count {
        tick.tick().await;
        // Rendered like the gateway's event frame, once per event.
        let frame: Arc<str> = json!({"type": "event", "position": seq, "chat_id": Uuid::nil(),
            "event": {"type": "MessageSent", "text": text(seq)}})
        .to_string()
        .into();
        clock.mark_sent(seq);
        let _ = senders[seq % channels].send(frame);
    }
    clock
        .settle(0..count, fanout as u32, Duration::from_secs(5))
        .await;
    let (lat, span, lost) = clock.latencies(0..count, fanout as u32);
    Ok((Summary::from_latencies(lat, span), lost))
}
