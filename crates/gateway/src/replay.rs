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
//!   re-add starts it again, at the same positions the live path would.

use std::collections::HashMap;

use chat_domain::{StreamKind, parse_stream};
use chat_store::Upcasters;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::protocol::Frame;
use crate::route::{self, Target};

/// The event types that make a user a member of a chat (or stop it).
const JOIN_TYPES: [&str; 3] = ["GroupCreated", "MembersAdded", "DirectChatRequested"];

pub struct Replay {
    pool: PgPool,
    upcasters: Upcasters,
    user: Uuid,
    streams: Vec<String>,
    member: HashMap<Uuid, bool>,
    cursor: u64,
    upto: u64,
    page: i64,
    done: bool,
}

type EventRow = (i64, String, String, i32, Value);

impl Replay {
    /// Prepare the replay of `user`'s events in `(after, upto]`.
    pub async fn start(
        pool: PgPool,
        upcasters: Upcasters,
        user: Uuid,
        (after, upto): (u64, u64),
        chats: &[Uuid],
        page: usize,
    ) -> Result<Replay, sqlx::Error> {
        let chat_streams: Vec<String> = chats.iter().map(|c| format!("chat-{c}")).collect();
        let uid = user.to_string();
        let last: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (stream) stream, event_type FROM events \
             WHERE stream = ANY($1) AND position <= $2 \
               AND event_type IN ('GroupCreated', 'MembersAdded', 'MemberRemoved', \
                                  'MemberLeft', 'DirectChatRequested') \
               AND (payload->>'user_id' = $3 OR payload->'user_ids' ? $3 \
                    OR payload->'member_ids' ? $3 OR payload->>'requester_id' = $3 \
                    OR payload->>'recipient_id' = $3) \
             ORDER BY stream, position DESC",
        )
        .bind(&chat_streams)
        .bind(big(after))
        .bind(&uid)
        .fetch_all(&pool)
        .await?;
        let mut member: HashMap<Uuid, bool> = chats.iter().map(|c| (*c, false)).collect();
        for (stream, event_type) in last {
            if let Some((StreamKind::Chat, chat)) = parse_stream(&stream) {
                member.insert(chat, JOIN_TYPES.contains(&event_type.as_str()));
            }
        }
        let mut streams = chat_streams;
        streams.push(format!("user-{user}"));
        Ok(Replay {
            pool,
            upcasters,
            user,
            streams,
            member,
            cursor: after,
            upto,
            page: i64::try_from(page.max(1)).unwrap_or(500),
            done: after >= upto,
        })
    }

    /// The next page of the user's frames in order, `None` when done.
    pub async fn next_page(&mut self) -> Result<Option<Vec<(u64, Frame)>>, sqlx::Error> {
        if self.done {
            return Ok(None);
        }
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.position, e.stream, e.event_type, e.schema_version, e.payload \
             FROM unnest($1::text[]) AS s(name) \
             CROSS JOIN LATERAL ( \
                 SELECT position, stream, event_type, schema_version, payload FROM events \
                 WHERE stream = s.name AND position > $2 AND position <= $3 \
                 ORDER BY position LIMIT $4) AS e \
             ORDER BY e.position LIMIT $4",
        )
        .bind(&self.streams)
        .bind(big(self.cursor))
        .bind(big(self.upto))
        .bind(self.page)
        .fetch_all(&self.pool)
        .await?;
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) < self.page {
            self.done = true;
        }
        let mut out = Vec::with_capacity(rows.len());
        for (position, stream, event_type, schema_version, payload) in rows {
            let position = u64::try_from(position).unwrap_or(0);
            self.cursor = position;
            let version = u16::try_from(schema_version).unwrap_or(1);
            let (_, payload) = self.upcasters.upcast(&event_type, version, payload);
            let target = route::target(&stream, &event_type, &payload);
            if self.concerns(&target) {
                out.push((position, route::frame(position, &target, &payload)));
            }
        }
        if self.cursor >= self.upto {
            self.done = true;
        }
        Ok(Some(out))
    }

    fn concerns(&mut self, target: &Target) -> bool {
        match target {
            Target::User { user_id, .. } => *user_id == self.user,
            Target::Chat { chat_id, change } => {
                let before = self.member.get(chat_id).copied().unwrap_or(false);
                let (send, after) = route::concerns(self.user, before, change);
                self.member.insert(*chat_id, after);
                send
            }
            Target::Nobody => false,
        }
    }
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
