//! Seed 001's `unreadCount`: per chat, the seqs of the messages the user
//! has not read, seeded from the read models the first time a chat needs
//! a count and then kept from the stream itself (new messages from others
//! add, the user's read marker, deletions, hides and clears remove).
//!
//! The seed waits until the read models reached the event being counted,
//! and everything kept afterwards is a set operation, so events the seed
//! already reflected change nothing when they arrive: the count equals
//! the chat list's `unread_count` (one SQL definition,
//! [`chat_common::unread_messages`]).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chat_common::read_models::CheckpointWatch;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// The query side counts at most this many; so does this.
const CAP: usize = 9_999;

/// How long a count waits for the read models before counting what they
/// have.
const SEED_WAIT: Duration = Duration::from_secs(2);

const SEED_SQL: &str = concat!(
    "SELECT u.seq FROM rm_chats.members m \
       LEFT JOIN rm_chats.user_chats uc ON uc.user_id = m.user_id AND uc.chat_id = m.chat_id \
       CROSS JOIN LATERAL (SELECT x.seq ",
    chat_common::unread_messages!(),
    " ORDER BY x.seq LIMIT 9999) u \
     WHERE m.chat_id = $1 AND m.user_id = $2"
);

pub struct Unread {
    user: Uuid,
    pool: PgPool,
    watch: CheckpointWatch,
    chats: HashMap<Uuid, BTreeSet<u64>>,
    /// Where a count goes when its seed failed (not kept).
    scratch: BTreeSet<u64>,
}

fn seq_of(ev: &Value, name: &str) -> Option<u64> {
    ev.get(name)?.as_u64()
}

fn uuid_of(ev: &Value, name: &str) -> Option<Uuid> {
    ev.get(name)?.as_str()?.parse().ok()
}

impl Unread {
    pub fn new(user: Uuid, pool: PgPool, watch: CheckpointWatch) -> Unread {
        Unread {
            user,
            pool,
            watch,
            chats: HashMap::new(),
            scratch: BTreeSet::new(),
        }
    }

    /// Follow one delivered event (its domain payload). Returns the chat's
    /// new count when the event is a message from someone else.
    pub async fn follow(&mut self, position: u64, ev: &Value) -> Option<u64> {
        let kind = ev.get("type")?.as_str()?;
        let chat = uuid_of(ev, "chat_id")?;
        match kind {
            "MessageSent" => {
                let seq = seq_of(ev, "seq")?;
                if uuid_of(ev, "sender_id")? == self.user || ev.get("deleted").is_some() {
                    return None;
                }
                let seqs = self.seqs(chat, position).await;
                if seqs.len() < CAP {
                    seqs.insert(seq);
                }
                Some(seqs.len() as u64)
            }
            "ReadMarkerMoved" if uuid_of(ev, "user_id") == Some(self.user) => {
                self.remove_up_to(chat, seq_of(ev, "up_to_seq")?);
                None
            }
            "ChatCleared" => {
                self.remove_up_to(chat, seq_of(ev, "up_to_seq")?);
                None
            }
            "MessageDeleted" | "MessageHiddenForMe" => {
                let seq = seq_of(ev, "seq")?;
                if let Some(seqs) = self.chats.get_mut(&chat) {
                    seqs.remove(&seq);
                }
                None
            }
            _ => None,
        }
    }

    fn remove_up_to(&mut self, chat: Uuid, up_to: u64) {
        if let Some(seqs) = self.chats.get_mut(&chat) {
            *seqs = seqs.split_off(&(up_to + 1));
        }
    }

    /// The chat's unread seqs, seeded once the read models reached
    /// `position` (or after [`SEED_WAIT`], from what they have). A seed
    /// that fails is tried again at the chat's next message.
    async fn seqs(&mut self, chat: Uuid, position: u64) -> &mut BTreeSet<u64> {
        if !self.chats.contains_key(&chat) {
            if self.watch.wait_for(position, SEED_WAIT).await.is_err() {
                tracing::warn!(%chat, position, "read models behind; unread count from what they have");
            }
            let rows: Result<Vec<(i64,)>, _> = sqlx::query_as(SEED_SQL)
                .bind(chat)
                .bind(self.user)
                .fetch_all(&self.pool)
                .await;
            match rows {
                Ok(rows) => {
                    let seqs = rows
                        .into_iter()
                        .filter_map(|(s,)| u64::try_from(s).ok())
                        .collect();
                    self.chats.insert(chat, seqs);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot seed an unread count");
                    self.scratch.clear();
                    return &mut self.scratch;
                }
            }
        }
        self.chats.entry(chat).or_default()
    }
}
