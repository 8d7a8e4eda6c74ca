//! The `messages` projection (schema `rm_messages`): message history with
//! tombstones, full-text search vectors, reactions, pins and per-user
//! "delete for me".
//!
//! Rows are keyed by `(chat_id, seq)`; every message event carries its seq,
//! so no lookup by id is needed while projecting.

use async_trait::async_trait;
use chat_common::read_models;
use chat_domain::{ChatEvent, StreamKind, UserEvent, parse_stream};
use chat_store::RecordedEvent;
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::projection::{Fact, Projection};
use crate::sql::{big, label};

/// The text-search configuration of `messages.search`. `'simple'` lower-cases
/// and splits words without language-specific stemming or stop words: chats
/// mix languages, and a stemmer for the wrong one mangles words. Queries must
/// use the same configuration (`websearch_to_tsquery('simple', $q)`).
pub const SEARCH_CONFIG: &str = "simple";

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagesProjection;

fn json<T: serde::Serialize>(v: &Option<T>) -> Option<Value> {
    v.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

#[async_trait]
impl Projection for MessagesProjection {
    fn name(&self) -> &'static str {
        read_models::MESSAGES.name
    }

    fn schema(&self) -> &'static str {
        read_models::MESSAGES.schema
    }

    /// Every chat event; of user events, hiding a message for oneself and
    /// a deleted upload (the messages that carried it show it removed).
    fn handles(&self, event: &RecordedEvent) -> bool {
        match parse_stream(&event.stream) {
            Some((StreamKind::Chat, _)) => true,
            Some((StreamKind::User, _)) => {
                matches!(
                    event.event_type.as_str(),
                    "MessageHiddenForMe" | "MediaDeleted" | "UserErased"
                )
            }
            None => false,
        }
    }

    async fn apply(&self, conn: &mut PgConnection, s: &str, event: &RecordedEvent) -> Result<()> {
        apply_fact(conn, s, big(event.position), Fact::decode(event)?).await
    }

    /// Runs of `MessageSent` become one multi-row insert; every other event
    /// goes through [`Projection::apply`]'s code, in order, after the run
    /// before it is written.
    async fn apply_events(
        &self,
        conn: &mut PgConnection,
        s: &str,
        events: &[RecordedEvent],
    ) -> Result<()> {
        let mut run = SentRun::default();
        for event in events {
            let pos = big(event.position);
            match Fact::decode(event)? {
                Some(Fact::Chat(sent @ ChatEvent::MessageSent { .. })) => run.push(pos, sent),
                fact => {
                    run.flush(conn, s).await?;
                    apply_fact(conn, s, pos, fact).await?;
                }
            }
        }
        run.flush(conn, s).await
    }
}

async fn apply_fact(conn: &mut PgConnection, s: &str, pos: i64, fact: Option<Fact>) -> Result<()> {
    match fact {
        Some(Fact::Chat(e)) => apply_chat(conn, s, pos, e).await,
        Some(Fact::User(UserEvent::MessageHiddenForMe {
            user_id,
            chat_id,
            message_id,
            seq,
            ..
        })) => {
            sqlx::query(&format!(
                "INSERT INTO {s}.hidden AS h (user_id, message_id, chat_id, seq, position) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, message_id) DO UPDATE SET position = EXCLUDED.position \
                 WHERE h.position < EXCLUDED.position"
            ))
            .bind(user_id)
            .bind(message_id)
            .bind(chat_id)
            .bind(big(seq))
            .bind(pos)
            .execute(conn)
            .await?;
            Ok(())
        }
        Some(Fact::User(UserEvent::MediaDeleted { media_id, .. })) => {
            // Media rows are keyed by message; the media id is found
            // through the partial index on it.
            sqlx::query(&format!(
                "UPDATE {s}.messages SET media = media || '{{\"removed\": true}}'::jsonb \
                 WHERE media ->> 'media_id' = $1::text AND NOT (media ? 'removed')"
            ))
            .bind(media_id)
            .execute(conn)
            .await?;
            Ok(())
        }
        Some(Fact::User(UserEvent::UserErased { user_id, .. })) => {
            user_erased(conn, s, user_id).await
        }
        Some(Fact::User(_)) | None => Ok(()),
    }
}

/// A deleted account's messages: exactly what a rebuild, and a socket's
/// resume, find once their keys are gone (no text, blank poll, unnamed
/// place; not a deletion nobody made), with their edit history gone.
async fn user_erased(conn: &mut PgConnection, s: &str, user: Uuid) -> Result<()> {
    sqlx::query(&format!(
        "DELETE FROM {s}.versions v USING {s}.messages m \
          WHERE m.chat_id = v.chat_id AND m.seq = v.seq AND m.sender_id = $1"
    ))
    .bind(user)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE {s}.messages SET text = NULL, search = NULL, \
           location = location - 'name', \
           poll = CASE WHEN poll IS NULL THEN NULL ELSE jsonb_set(poll || '{{\"question\": \"\"}}', \
             '{{options}}', coalesce((SELECT jsonb_agg(o || '{{\"text\": \"\"}}') \
                                      FROM jsonb_array_elements(poll -> 'options') o), '[]')) END \
         WHERE sender_id = $1"
    ))
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Consecutive `MessageSent` events, column by column, for one
/// `INSERT … SELECT FROM unnest(…)`. Rows are inserted in event order with
/// the same `ON CONFLICT DO NOTHING` as one by one, so the outcome is the same.
#[derive(Default)]
struct SentRun {
    chat_id: Vec<Uuid>,
    seq: Vec<i64>,
    message_id: Vec<Uuid>,
    sender_id: Vec<Uuid>,
    kind: Vec<String>,
    text: Vec<Option<String>>,
    media: Vec<Option<Value>>,
    reply_to: Vec<Option<Value>>,
    forward_of: Vec<Option<Value>>,
    /// Each message's mentions as a JSON array (Postgres has no arrays of
    /// arrays of differing lengths to unnest).
    mentions: Vec<Option<Value>>,
    poll: Vec<Option<Value>>,
    location: Vec<Option<Value>>,
    sent_at: Vec<OffsetDateTime>,
    position: Vec<i64>,
}

impl SentRun {
    fn push(&mut self, pos: i64, event: ChatEvent) {
        let ChatEvent::MessageSent {
            chat_id,
            message_id,
            seq,
            sender_id,
            kind,
            text,
            media,
            reply_to,
            forward_of,
            mentions,
            poll,
            location,
            at,
            ..
        } = event
        else {
            return;
        };
        self.chat_id.push(chat_id);
        self.seq.push(big(seq));
        self.message_id.push(message_id);
        self.sender_id.push(sender_id);
        self.kind.push(label(&kind));
        self.text.push(text);
        self.media.push(json(&media));
        self.reply_to.push(json(&reply_to));
        self.forward_of.push(json(&forward_of));
        self.mentions
            .push((!mentions.is_empty()).then(|| serde_json::json!(mentions)));
        self.poll.push(json(&poll));
        self.location.push(json(&location));
        self.sent_at.push(at);
        self.position.push(pos);
    }

    /// Insert the run (if any) and start a new one.
    async fn flush(&mut self, conn: &mut PgConnection, s: &str) -> Result<()> {
        if self.position.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(self);
        sqlx::query(&format!(
            "INSERT INTO {s}.messages (chat_id, seq, message_id, sender_id, kind, text, media, \
               reply_to, forward_of, mentions, poll, location, sent_at, search, position) \
             SELECT chat_id, seq, message_id, sender_id, kind, text, media, reply_to, forward_of, \
               ARRAY(SELECT jsonb_array_elements_text(mentions)::uuid), poll, location, \
               sent_at, to_tsvector('{SEARCH_CONFIG}', coalesce(text, poll->>'question', \
                 location->>'name', '')), position \
             FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], \
               $6::text[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::jsonb[], \
               $12::jsonb[], $13::timestamptz[], $14::bigint[]) WITH ORDINALITY \
               AS r(chat_id, seq, message_id, sender_id, kind, text, media, reply_to, \
                 forward_of, mentions, poll, location, sent_at, position, n) \
             ORDER BY n \
             ON CONFLICT DO NOTHING"
        ))
        .bind(run.chat_id)
        .bind(run.seq)
        .bind(run.message_id)
        .bind(run.sender_id)
        .bind(run.kind)
        .bind(run.text)
        .bind(run.media)
        .bind(run.reply_to)
        .bind(run.forward_of)
        .bind(run.mentions)
        .bind(run.poll)
        .bind(run.location)
        .bind(run.sent_at)
        .bind(run.position)
        .execute(conn)
        .await?;
        Ok(())
    }
}

async fn apply_chat(conn: &mut PgConnection, s: &str, pos: i64, event: ChatEvent) -> Result<()> {
    crate::system::record(conn, s, pos, &event).await?;
    match event {
        sent @ ChatEvent::MessageSent { .. } => {
            // A message is inserted once, at its own position; nothing else
            // creates the row, so an existing row means "already applied".
            let mut run = SentRun::default();
            run.push(pos, sent);
            run.flush(conn, s).await?;
        }
        ChatEvent::MessageEdited {
            chat_id,
            seq,
            text,
            at,
            ..
        } => {
            // The replaced text is kept as a version (edit history); the
            // CTE reads the row as it was before the update, under the same
            // position guard, so a replayed edit keeps nothing twice.
            sqlx::query(&format!(
                "WITH old AS ( \
                   SELECT chat_id, seq, text, coalesce(edited_at, sent_at) AS written_at \
                     FROM {s}.messages \
                    WHERE chat_id = $1 AND seq = $2 AND position < $5 AND deleted_at IS NULL \
                      AND text IS NOT NULL), \
                 kept AS ( \
                   INSERT INTO {s}.versions (chat_id, seq, replaced_at, text, written_at) \
                   SELECT chat_id, seq, $5, text, written_at FROM old ON CONFLICT DO NOTHING) \
                 UPDATE {s}.messages SET text = $3, edited_at = $4, \
                   search = to_tsvector('{SEARCH_CONFIG}', $3), position = $5 \
                 WHERE chat_id = $1 AND seq = $2 AND position < $5 AND deleted_at IS NULL"
            ))
            .bind(chat_id)
            .bind(big(seq))
            .bind(text)
            .bind(at)
            .bind(pos)
            .execute(conn)
            .await?;
        }
        ChatEvent::MessageDeleted {
            chat_id,
            seq,
            by,
            at,
            ..
        } => {
            // Its earlier versions and its votes go with its body.
            sqlx::query(&format!(
                "WITH gone AS (DELETE FROM {s}.versions WHERE chat_id = $1 AND seq = $2), \
                 ballots AS (DELETE FROM {s}.votes v USING {s}.messages x \
                   WHERE x.chat_id = $1 AND x.seq = $2 AND v.message_id = x.message_id) \
                 UPDATE {s}.messages SET text = NULL, media = NULL, search = NULL, \
                   poll = NULL, location = NULL, mentions = '{{}}', \
                   deleted_at = $3, deleted_by = $4, position = $5 \
                 WHERE chat_id = $1 AND seq = $2 AND position < $5"
            ))
            .bind(chat_id)
            .bind(big(seq))
            .bind(at)
            .bind(by)
            .bind(pos)
            .execute(conn)
            .await?;
        }
        ChatEvent::ReactionAdded {
            chat_id,
            message_id,
            user_id,
            emoji,
            at,
            ..
        } => {
            sqlx::query(&format!(
                "INSERT INTO {s}.reactions AS r (message_id, user_id, emoji, chat_id, reacted_at, position) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (message_id, user_id, emoji) DO UPDATE \
                   SET reacted_at = EXCLUDED.reacted_at, position = EXCLUDED.position \
                 WHERE r.position < EXCLUDED.position"
            ))
            .bind(message_id)
            .bind(user_id)
            .bind(emoji)
            .bind(chat_id)
            .bind(at)
            .bind(pos)
            .execute(conn)
            .await?;
        }
        ChatEvent::ReactionRemoved {
            message_id,
            user_id,
            emoji,
            ..
        } => {
            sqlx::query(&format!(
                "DELETE FROM {s}.reactions \
                 WHERE message_id = $1 AND user_id = $2 AND emoji = $3 AND position < $4"
            ))
            .bind(message_id)
            .bind(user_id)
            .bind(emoji)
            .bind(pos)
            .execute(conn)
            .await?;
        }
        ChatEvent::MessagePinned {
            chat_id,
            seq,
            by,
            at,
            ..
        } => set_pinned(conn, s, pos, chat_id, seq, Some((by, at))).await?,
        ChatEvent::MessageUnpinned { chat_id, seq, .. } => {
            set_pinned(conn, s, pos, chat_id, seq, None).await?
        }
        ChatEvent::PollVoted {
            message_id,
            user_id,
            option_ids,
            at,
            ..
        } => crate::polls::voted(conn, s, pos, message_id, user_id, &option_ids, at).await?,
        ChatEvent::PollClosed {
            chat_id, seq, at, ..
        } => crate::polls::closed(conn, s, pos, chat_id, seq, at).await?,
        // Lifecycle, membership and read markers are the chats projection's.
        _ => {}
    }
    Ok(())
}

async fn set_pinned(
    conn: &mut PgConnection,
    s: &str,
    pos: i64,
    chat_id: uuid::Uuid,
    seq: u64,
    pin: Option<(uuid::Uuid, time::OffsetDateTime)>,
) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE {s}.messages SET pinned = $3, pinned_by = $4, pinned_at = $5, position = $6 \
         WHERE chat_id = $1 AND seq = $2 AND position < $6"
    ))
    .bind(chat_id)
    .bind(big(seq))
    .bind(pin.is_some())
    .bind(pin.map(|(by, _)| by))
    .bind(pin.map(|(_, at)| at))
    .bind(pos)
    .execute(conn)
    .await?;
    Ok(())
}
