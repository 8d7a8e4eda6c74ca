//! Exact resume: one user's events in `(after, upto]`, read from the event
//! store with indexed lookups and filtered by their membership at each
//! event's position.
//!
//! * the streams read are the chats the user is or was in (as of `upto`,
//!   from the node's membership) and their own user stream; each is read
//!   through the `(stream, position)` index, at most a page per stream per
//!   round, merged by position: cost grows with the user's events, not with
//!   the log;
//! * their membership at `after` comes from the newest membership event
//!   about them at or before it (a partial index holds only those events),
//!   then follows the replayed events with the live router's rules
//!   ([`crate::route::concerns`]), so a removal midway stops the chat and a
//!   re-add starts it again, at the same positions the live path would;
//! * what each event shows is decided by the same rule as live
//!   ([`crate::view::shows`]), with the membership as of that event and the
//!   user's clears, hides and everyone's receipt settings as of now: a
//!   replay never sends what the caller hid, nor a marker the receipts
//!   query hides;
//! * a message deleted for everyone since is replayed as a tombstone, and
//!   its edits not at all: the replay never sends text the query side no
//!   longer shows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chat_domain::visibility::Window;
use chat_domain::{JOIN_TYPES, MEMBERSHIP_TYPES, StreamKind, parse_stream};

use chat_store::EventStore;
use sqlx::PgPool;
use uuid::Uuid;

use crate::members::Private;
use crate::protocol::Frame;
use crate::route::{self, About, Target};
use crate::view::{self, Facts};

pub struct Replay {
    store: Arc<dyn EventStore>,
    user: Uuid,
    streams: Vec<String>,
    /// The chats they are a member of at the cursor, with their join seq.
    member: HashMap<Uuid, u64>,
    private: Private,
    /// `(chat, seq)` of messages deleted for everyone after `after`.
    deleted: HashSet<(Uuid, u64)>,
    cursor: u64,
    upto: u64,
    page: usize,
    done: bool,
}

/// A resume that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] chat_store::StoreError),
}

impl Replay {
    /// Prepare the replay of `user`'s events in `(after, upto]`.
    pub async fn start(
        (pool, store): (&PgPool, Arc<dyn EventStore>),
        (user, private): (Uuid, Private),
        (after, upto): (u64, u64),
        chats: &[Uuid],
        page: usize,
    ) -> Result<Replay, ReplayError> {
        let chat_streams: Vec<String> = chats.iter().map(|c| format!("chat-{c}")).collect();
        let uid = user.to_string();
        // The types are written into the SQL, not bound, so the planner
        // matches them with the partial index on exactly these.
        let types: Vec<String> = MEMBERSHIP_TYPES.iter().map(|t| format!("'{t}'")).collect();
        let last: Vec<(String, String, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT DISTINCT ON (stream) stream, event_type, \
                    (payload->>'joined_seq')::bigint FROM events \
             WHERE stream = ANY($1) AND position <= $2 AND event_type IN ({}) \
               AND (payload->>'user_id' = $3 OR payload->'user_ids' ? $3 \
                    OR payload->'member_ids' ? $3 OR payload->>'requester_id' = $3 \
                    OR payload->>'recipient_id' = $3 OR payload->>'owner_id' = $3) \
             ORDER BY stream, position DESC",
            types.join(", ")
        ))
        .bind(&chat_streams)
        .bind(big(after))
        .bind(&uid)
        .fetch_all(pool)
        .await?;
        let mut member = HashMap::new();
        for (stream, event_type, joined_seq) in last {
            if let Some((StreamKind::Chat, chat)) = parse_stream(&stream)
                && JOIN_TYPES.contains(&event_type.as_str())
            {
                member.insert(chat, joined_seq.map_or(0, seq));
            }
        }
        let deleted: Vec<(String, i64)> = sqlx::query_as(
            "SELECT stream, (payload->>'seq')::bigint FROM events \
             WHERE stream = ANY($1) AND event_type = 'MessageDeleted' AND position > $2",
        )
        .bind(&chat_streams)
        .bind(big(after))
        .fetch_all(pool)
        .await?;
        let deleted = deleted
            .into_iter()
            .filter_map(|(stream, at)| match parse_stream(&stream) {
                Some((StreamKind::Chat, chat)) => Some((chat, seq(at))),
                _ => None,
            })
            .collect();
        let mut streams = chat_streams;
        streams.push(format!("user-{user}"));
        Ok(Replay {
            store,
            user,
            streams,
            member,
            private,
            deleted,
            cursor: after,
            upto,
            page: page.max(1),
            done: after >= upto,
        })
    }

    /// The next page of the user's frames in order, `None` when done.
    pub async fn next_page(&mut self) -> Result<Option<Vec<(u64, Frame)>>, ReplayError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .store
            .read_streams(&self.streams, self.cursor, self.upto, self.page)
            .await?;
        if page.len() < self.page {
            self.done = true;
        }
        let mut out = Vec::with_capacity(page.len());
        for rec in page {
            let (position, event_type, mut payload) = (rec.position, rec.event_type, rec.payload);
            self.cursor = position;
            let target = route::target(&rec.stream, &event_type, &payload);
            if !self.concerns(&target) {
                continue;
            }
            if let Target::Chat {
                chat_id,
                about: About::Message(at),
                ..
            } = target
                && self.deleted.contains(&(chat_id, at))
            {
                match event_type.as_str() {
                    "MessageSent" => view::tombstone(&mut payload),
                    "MessageEdited" => continue,
                    _ => {}
                }
            }
            out.push((position, route::frame(position, &target, &payload)));
        }
        if self.cursor >= self.upto {
            self.done = true;
        }
        Ok(Some(out))
    }

    /// Whether the event is the user's, following their membership.
    fn concerns(&mut self, target: &Target) -> bool {
        match target {
            Target::User { user_id, .. } => *user_id == self.user,
            Target::Chat {
                chat_id,
                change,
                about,
            } => {
                let before = self.member.contains_key(chat_id);
                let shown = view::shows(self, self.user, *chat_id, *about);
                let (send, after) = route::concerns(self.user, before, change);
                let joins = match change {
                    route::Change::Join(users, joined_seq) if users.contains(&self.user) => {
                        Some(*joined_seq)
                    }
                    route::Change::Channel(owner) if *owner == self.user => Some(0),
                    _ => None,
                };
                if matches!(change, route::Change::Channel(_))
                    && !self.private.channels.contains(chat_id)
                {
                    std::sync::Arc::make_mut(&mut self.private.channels).insert(*chat_id);
                }
                if let Some(joined_seq) = joins {
                    self.member.insert(*chat_id, joined_seq);
                } else if !after {
                    self.member.remove(chat_id);
                }
                // A former member still gets what happens to the messages
                // of their window (see `view`); nothing else.
                let former = !before && joins.is_none() && matches!(about, About::Message(_));
                (send || former) && shown
            }
            Target::Nobody => false,
        }
    }
}

impl Facts for Replay {
    /// Their window as of the event the replay is at: the chat they are in,
    /// else the one they left (as the hub knows it now: if they are back
    /// in since, their client drops the old window at the re-join anyway).
    fn window(&self, user: Uuid, chat: Uuid) -> Option<Window> {
        if user != self.user {
            return None;
        }
        let Some(joined_seq) = self.member.get(&chat) else {
            return self.private.former.get(&chat).copied();
        };
        Some(Window {
            joined_seq: *joined_seq,
            cleared_seq: self.private.cleared.get(&chat).copied().unwrap_or(0),
            left_seq: None,
        })
    }

    fn hidden(&self, user: Uuid, chat: Uuid, seq: u64) -> bool {
        user == self.user
            && self
                .private
                .hidden
                .get(&chat)
                .is_some_and(|s| s.contains(&seq))
    }

    fn shares_receipts(&self, user: Uuid) -> bool {
        !self.private.silent.contains(&user)
    }

    fn is_channel(&self, chat: Uuid) -> bool {
        self.private.channels.contains(&chat)
    }
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn seq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
