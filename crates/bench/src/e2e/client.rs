//! One client for both servers of `chat-bench e2e`: the same calls, users,
//! chats, sockets and pacing, spoken in our API or in the baseline's.

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::load::{Clock, text_from};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `chat serve`: register with a password, accept direct requests, /v1/ws.
    Chat,
    /// The naive server of [`super::baseline`].
    Baseline,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Chat => "chat serve",
            Flavor::Baseline => "naive baseline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub index: usize,
    pub id: Uuid,
    pub token: String,
}

pub struct Client {
    pub flavor: Flavor,
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(flavor: Flavor, base: String) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()?;
        Ok(Client { flavor, base, http })
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(anyhow!("{path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn register(&self, index: usize) -> anyhow::Result<User> {
        let name = format!("e2e{index}_{}", std::process::id());
        let (path, body) = match self.flavor {
            Flavor::Chat => (
                "/v1/auth/register",
                json!({"username": name, "password": "correct horse battery staple"}),
            ),
            Flavor::Baseline => ("/users", json!({"name": name})),
        };
        let v = self.post(path, None, body).await?;
        let id: Uuid = serde_json::from_value(v["user_id"].clone())?;
        let token = match self.flavor {
            Flavor::Chat => v["access_token"]
                .as_str()
                .ok_or_else(|| anyhow!("no access_token"))?
                .to_owned(),
            Flavor::Baseline => id.to_string(),
        };
        Ok(User { index, id, token })
    }

    /// Users `0..n`, `concurrency` registrations at a time, in order.
    pub async fn register_all(
        self: &Arc<Self>,
        n: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<User>> {
        use futures::StreamExt;
        futures::stream::iter(0..n)
            .map(|i| {
                let c = self.clone();
                async move { c.register(i).await }
            })
            .buffered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// An accepted direct chat between `a` and `b`.
    pub async fn direct(&self, a: &User, b: &User) -> anyhow::Result<Uuid> {
        match self.flavor {
            Flavor::Chat => {
                let v = self
                    .post(
                        "/v1/chats/direct",
                        Some(&a.token),
                        json!({"recipient_id": b.id}),
                    )
                    .await?;
                let chat: Uuid = serde_json::from_value(v["chat_id"].clone())?;
                self.post(
                    &format!("/v1/chats/{chat}/accept"),
                    Some(&b.token),
                    json!({}),
                )
                .await?;
                Ok(chat)
            }
            Flavor::Baseline => self.group(a, &[b.id]).await,
        }
    }

    pub async fn group(&self, owner: &User, members: &[Uuid]) -> anyhow::Result<Uuid> {
        let (path, body) = match self.flavor {
            Flavor::Chat => (
                "/v1/chats/group",
                json!({"title": "bench", "member_ids": members}),
            ),
            Flavor::Baseline => ("/chats", json!({"member_ids": members})),
        };
        let v = self.post(path, Some(&owner.token), body).await?;
        Ok(serde_json::from_value(v["chat_id"].clone())?)
    }

    /// Send message `seq` as `from` into `chat`.
    pub async fn send(&self, chat: Uuid, from: &User, seq: usize) -> anyhow::Result<()> {
        let text = text_from(seq, from.index);
        let (path, body) = match self.flavor {
            Flavor::Chat => (
                format!("/v1/chats/{chat}/messages"),
                json!({"client_msg_id": format!("e2e-{seq}"), "kind": "text", "text": text}),
            ),
            Flavor::Baseline => (
                format!("/chats/{chat}/messages"),
                json!({"client_msg_id": format!("e2e-{seq}"), "text": text}),
            ),
        };
        self.post(&path, Some(&from.token), body).await.map(|_| ())
    }

    /// Open `user`'s socket, wait until it is live, then record every bench
    /// message it receives from someone else.
    pub async fn open_socket(&self, user: &User, clock: Arc<Clock>) -> anyhow::Result<()> {
        let ws = self.base.replacen("http", "ws", 1);
        let url = match self.flavor {
            Flavor::Chat => format!("{ws}/v1/ws?access_token={}", user.token),
            Flavor::Baseline => format!("{ws}/ws?token={}", user.token),
        };
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        if self.flavor == Flavor::Chat {
            socket
                .send(Message::text(json!({"type": "subscribe"}).to_string()))
                .await?;
        }
        loop {
            match tokio::time::timeout(Duration::from_secs(60), socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"subscribed\"") => break,
                Ok(Some(Ok(_))) => continue,
                other => return Err(anyhow!("no subscribed frame: {other:?}")),
            }
        }
        let me = Some(user.index);
        tokio::spawn(async move {
            while let Some(Ok(msg)) = socket.next().await {
                if let Message::Text(t) = msg {
                    clock.received_by(t.as_str(), me);
                }
            }
        });
        Ok(())
    }
}
