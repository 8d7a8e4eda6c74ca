//! Delivery acks from a socket: the client says it *received* a chat's
//! messages up to a seq (`{"type":"delivered","chat_id","up_to_seq"}`),
//! and that becomes the `POST /v1/chats/{id}/delivered` command, run in
//! process through the command router with the socket's own token. The
//! domain decides (forward only, reading implies delivery); the gateway
//! only carries.
//!
//! Clients ack every message they receive, so acks coalesce: one worker per
//! socket runs one command at a time, and acks that arrive meanwhile only
//! raise the seq of the chat's next command. Pending acks are bounded by
//! the chats the user is in (each is checked before it is queued).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::commands::Commands;

type Pending = Arc<Mutex<HashMap<Uuid, u64>>>;

/// One socket's acks; its worker ends once this is dropped and the last
/// pending ack is sent.
pub struct Acks {
    pending: Pending,
    wake: mpsc::Sender<()>,
    commands: Commands,
}

impl Acks {
    pub fn start(commands: Commands) -> Acks {
        let pending = Pending::default();
        // One wake-up in flight is enough: the worker drains everything.
        let (wake, rx) = mpsc::channel(1);
        tokio::spawn(run(pending.clone(), rx, commands.clone()));
        Acks {
            pending,
            wake,
            commands,
        }
    }

    /// Queue an ack; a higher one for the same chat replaces it.
    pub fn ack(&self, chat_id: Uuid, up_to_seq: u64) {
        {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let seq = p.entry(chat_id).or_insert(0);
            *seq = (*seq).max(up_to_seq);
        }
        let _ = self.wake.try_send(());
    }

    /// The socket renewed its token: later commands carry the new one.
    pub fn renew(&self, token: &str) {
        self.commands.renew(token);
    }
}

async fn run(pending: Pending, mut wake: mpsc::Receiver<()>, commands: Commands) {
    while wake.recv().await.is_some() {
        let batch: Vec<(Uuid, u64)> = {
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.drain().collect()
        };
        for (chat_id, up_to_seq) in batch {
            let path = format!("/v1/chats/{chat_id}/delivered");
            let body = json!({ "up_to_seq": up_to_seq });
            if let Err(p) = commands.call(Method::POST, &path, Some(body)).await {
                // An ack past the chat's end, or one the rate limit refused:
                // the next ack carries the marker further anyway.
                tracing::debug!(%chat_id, up_to_seq, code = %p.code, "delivery ack refused");
            }
        }
    }
}
