//! The Redis backend: several gateway nodes share presence and signals.
//!
//! * presence: `{prefix}:presence:{user}` is a sorted set of the user's
//!   sockets scored by when they expire, `{prefix}:presence:{user}:s` a hash
//!   of their statuses; a Lua script drops expired sockets and answers the
//!   best status atomically, with Redis's clock. Both keys expire with the
//!   last socket, so a node that dies without closing leaves nothing behind
//!   after the heartbeat TTL;
//! * typing: `{prefix}:typing:{chat}:{user}` with the typing TTL;
//! * signals: published on `{prefix}:signals`; one subscriber per node
//!   (reconnecting with back-off) forwards them to the dispatcher.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, Script};
use tokio::sync::mpsc;
use tracing::warn;
use uuid::Uuid;

use super::{Backend, BackendError, Signal};
use crate::protocol::Status;

const PRESENCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local op, conn, status, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if op == 'touch' then
  redis.call('ZADD', KEYS[1], now + ttl, conn)
  redis.call('HSET', KEYS[2], conn, status)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
elseif op == 'remove' then
  redis.call('ZREM', KEYS[1], conn)
  redis.call('HDEL', KEYS[2], conn)
end
local rank = {offline = 0, away = 1, dnd = 2, online = 3}
local best = 'offline'
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('HGET', KEYS[2], c)
  if s and rank[s] and rank[s] > rank[best] then best = s end
end
return best
";

pub struct RedisBackend {
    conn: ConnectionManager,
    prefix: String,
    presence_ttl: Duration,
    typing_ttl: Duration,
    script: Script,
}

impl RedisBackend {
    /// Connect, and forward every published signal to `tx` until it closes.
    pub async fn connect(
        url: &str,
        prefix: &str,
        presence_ttl: Duration,
        typing_ttl: Duration,
        tx: mpsc::Sender<Signal>,
    ) -> Result<RedisBackend, BackendError> {
        let client = Client::open(url)?;
        let conn = ConnectionManager::new(client.clone()).await?;
        let channel = format!("{prefix}:signals");
        // Subscribe before answering, so no signal published after start-up
        // is missed by this node.
        let pubsub = subscribe(&client, &channel).await?;
        tokio::spawn(forward(client, channel, pubsub, tx));
        Ok(RedisBackend {
            conn,
            prefix: prefix.to_owned(),
            presence_ttl,
            typing_ttl,
            script: Script::new(PRESENCE),
        })
    }

    async fn presence(
        &self,
        op: &str,
        user: Uuid,
        conn: &str,
        status: Status,
    ) -> Result<Status, BackendError> {
        let key = format!("{}:presence:{user}", self.prefix);
        let ttl = u64::try_from(self.presence_ttl.as_millis()).unwrap_or(u64::MAX);
        let mut c = self.conn.clone();
        let best: String = self
            .script
            .key(&key)
            .key(format!("{key}:s"))
            .arg(op)
            .arg(conn)
            .arg(status.as_str())
            .arg(ttl.max(1))
            .invoke_async(&mut c)
            .await?;
        Ok(Status::parse(&best))
    }
}

async fn subscribe(client: &Client, channel: &str) -> Result<redis::aio::PubSub, BackendError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

async fn forward(
    client: Client,
    channel: String,
    mut pubsub: redis::aio::PubSub,
    tx: mpsc::Sender<Signal>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        {
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                match serde_json::from_str::<Signal>(&payload) {
                    Ok(signal) => {
                        if !super::offer(&tx, signal) {
                            return;
                        }
                    }
                    Err(e) => warn!(error = %e, "ignoring an unreadable signal"),
                }
            }
        }
        warn!("Redis subscription lost; reconnecting");
        loop {
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(backoff).await;
            match subscribe(&client, &channel).await {
                Ok(p) => {
                    pubsub = p;
                    backoff = Duration::from_millis(100);
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "Redis subscription failed");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

#[async_trait]
impl Backend for RedisBackend {
    async fn touch(&self, user: Uuid, conn: &str, status: Status) -> Result<Status, BackendError> {
        self.presence("touch", user, conn, status).await
    }

    async fn remove(&self, user: Uuid, conn: &str) -> Result<Status, BackendError> {
        self.presence("remove", user, conn, Status::Offline).await
    }

    async fn status(&self, user: Uuid) -> Result<Status, BackendError> {
        self.presence("get", user, "", Status::Offline).await
    }

    async fn typing(&self, chat: Uuid, user: Uuid, typing: bool) -> Result<(), BackendError> {
        let key = format!("{}:typing:{chat}:{user}", self.prefix);
        let mut c = self.conn.clone();
        if typing {
            let ttl = u64::try_from(self.typing_ttl.as_millis()).unwrap_or(5_000);
            let _: () = c.pset_ex(key, 1, ttl.max(1)).await?;
        } else {
            let _: () = c.del(key).await?;
        }
        Ok(())
    }

    async fn publish(&self, signal: &Signal) -> Result<(), BackendError> {
        let payload = serde_json::to_string(signal).map_err(|e| BackendError(e.to_string()))?;
        let mut c = self.conn.clone();
        let _: () = c
            .publish(format!("{}:signals", self.prefix), payload)
            .await?;
        Ok(())
    }
}
