//! The in-process backend (no `REDIS_URL`): one node, state in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Backend, BackendError, Signal, aggregate, offer, queue};
use crate::protocol::Status;

/// One user's sockets: status and when the entry expires.
type Sockets = HashMap<String, (Status, Instant)>;

pub struct LocalBackend {
    ttl: Duration,
    presence: Mutex<HashMap<Uuid, Sockets>>,
    tx: mpsc::Sender<Signal>,
}

impl LocalBackend {
    /// The backend and the stream of signals it carries.
    pub fn new(ttl: Duration) -> (LocalBackend, mpsc::Receiver<Signal>) {
        let (tx, rx) = queue();
        let backend = LocalBackend {
            ttl,
            presence: Mutex::new(HashMap::new()),
            tx,
        };
        (backend, rx)
    }

    fn with_user<T>(&self, user: Uuid, f: impl FnOnce(&mut Sockets) -> T) -> (T, Status) {
        let mut all = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(user).or_default();
        let now = Instant::now();
        entry.retain(|_, (_, until)| *until > now);
        let out = f(entry);
        let status = aggregate(entry.values().map(|(s, _)| *s));
        if entry.is_empty() {
            all.remove(&user);
        }
        (out, status)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn touch(&self, user: Uuid, conn: &str, status: Status) -> Result<Status, BackendError> {
        let until = Instant::now() + self.ttl;
        Ok(self
            .with_user(user, |m| m.insert(conn.to_owned(), (status, until)))
            .1)
    }

    async fn remove(&self, user: Uuid, conn: &str) -> Result<Status, BackendError> {
        Ok(self.with_user(user, |m| m.remove(conn)).1)
    }

    async fn status(&self, user: Uuid) -> Result<Status, BackendError> {
        Ok(self.with_user(user, |_| ()).1)
    }

    async fn typing(&self, _chat: Uuid, _user: Uuid, _typing: bool) -> Result<(), BackendError> {
        // The dispatcher's own timers expire typing; nothing to keep here.
        Ok(())
    }

    async fn publish(&self, signal: &Signal) -> Result<(), BackendError> {
        if offer(&self.tx, signal.clone()) {
            Ok(())
        } else {
            Err(BackendError("the signal dispatcher stopped".into()))
        }
    }
}
