//! A Socket.IO v4 client over the WebSocket transport, enough for the
//! bench: Engine.IO's open packet and ping/pong, the namespace connect with
//! `auth`, and `42[event, data]` packets. (What seed clients run after their
//! polling handshake upgrades; the JS suites use the real socket.io-client.)

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::load::Clock;

/// One connected socket: emit on it; what it receives is recorded.
pub struct Sio {
    tx: mpsc::UnboundedSender<String>,
}

impl Sio {
    /// Connect as `token`, wait for the stream to be live (`subscribed`),
    /// then record each `message_received` from someone else on `clock`.
    pub async fn connect(
        base: &str,
        token: &str,
        me: usize,
        clock: Arc<Clock>,
    ) -> anyhow::Result<Sio> {
        let url = format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            base.replacen("http", "ws", 1)
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        let open = next_text(&mut socket).await?;
        if !open.starts_with('0') {
            return Err(anyhow!("no Engine.IO open packet: {open}"));
        }
        socket
            .send(Message::text(format!("40{}", json!({"token": token}))))
            .await?;
        loop {
            let t = next_text(&mut socket).await?;
            if t.starts_with("44") {
                return Err(anyhow!("connect_error: {t}"));
            }
            if t.starts_with("42[\"subscribed\"") {
                break;
            }
            if t == "2" {
                socket.send(Message::text("3")).await?;
            }
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(p) => if socket.send(Message::text(p)).await.is_err() { break },
                        None => break,
                    },
                    msg = socket.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let t = t.as_str();
                            if t == "2" {
                                if socket.send(Message::text("3")).await.is_err() { break }
                            } else if t.starts_with("42[\"message_received\"") {
                                clock.received_by(t, Some(me));
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
        });
        Ok(Sio { tx })
    }

    pub fn emit(&self, event: &str, data: Value) -> anyhow::Result<()> {
        self.tx
            .send(format!("42{}", json!([event, data])))
            .map_err(|_| anyhow!("the socket closed"))
    }
}

async fn next_text<S>(socket: &mut S) -> anyhow::Result<String>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("waiting for the Socket.IO server")?;
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(_)) => continue,
            other => return Err(anyhow!("the socket ended: {other:?}")),
        }
    }
}
