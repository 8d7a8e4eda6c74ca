//! Messages and read markers as the chat list sees them: last message,
//! counters, the chat's activity, read markers. A send writes O(1) rows:
//! each member's list order and a cleared chat's return are derived from
//! the chat's row when the list is read.

use std::collections::HashMap;

use chat_domain::{ChatEvent, MessageKind};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Ctx;
use super::preview::{DELETED_PREVIEW, LastMessage, preview};
use crate::error::Result;
use crate::sql::big;

pub(crate) async fn message_sent(cx: &mut Ctx<'_>, event: ChatEvent) -> Result<()> {
    let words = event.words().map(str::to_owned);
    let ChatEvent::MessageSent {
        chat_id,
        message_id,
        seq,
        sender_id,
        kind,
        at,
        ..
    } = event
    else {
        return Ok(());
    };
    let (s, pos) = (cx.s, cx.pos);
    let last = LastMessage {
        message_id,
        seq,
        sender_id,
        kind,
        preview: preview(kind, words.as_deref()),
        sent_at: at,
        edited_at: None,
        deleted: false,
    };
    let last = serde_json::to_value(&last).unwrap_or(serde_json::Value::Null);
    sqlx::query(&format!(
        "UPDATE {s}.chats SET last_seq = greatest(last_seq, $2), last_message = $3, \
           message_count = message_count + 1, \
           last_activity_at = greatest(last_activity_at, $4), position = $5 \
         WHERE chat_id = $1 AND position < $5"
    ))
    .bind(chat_id)
    .bind(big(seq))
    .bind(last)
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    // No row per member: the chat list joins the chat's activity at read
    // time (query-api's ACTIVITY and LISTED), so a send into a group of
    // thousands writes the same rows as one into a direct chat.
    // Sending implies having read everything up to one's own message.
    marker_moved(cx, Marker::Read, chat_id, sender_id, seq, at).await
}

/// Consecutive `MessageSent` events of a batch, applied with two set-based
/// statements that have exactly the effect of [`message_sent`] on each
/// event in turn:
///
/// * `chats`: per chat, the events past the row's position count, raise
///   `last_seq`/`last_activity_at`, and the newest one is the last message;
/// * `members`: per (chat, sender), the newest event's read marker (guarded
///   as one by one).
///
/// Exactness relies on seqs rising with positions within a chat in the run
/// (so the newest event applies whenever any does); [`SentRun::accepts`]
/// refuses an event that breaks it, and the caller flushes first. The
/// membership cannot change within a run (only `MessageSent` events).
#[derive(Default)]
pub(crate) struct SentRun {
    chat_id: Vec<Uuid>,
    seq: Vec<i64>,
    at: Vec<OffsetDateTime>,
    pos: Vec<i64>,
    message_id: Vec<Uuid>,
    sender_id: Vec<Uuid>,
    kind: Vec<MessageKind>,
    text: Vec<Option<String>>,
    /// Chat → index of its newest event in the run.
    newest: HashMap<Uuid, usize>,
    /// (chat, sender) → index of the sender's newest event in the chat.
    readers: HashMap<(Uuid, Uuid), usize>,
}

impl SentRun {
    /// Whether `event` can join the run: its seq is above the run's newest
    /// in the same chat.
    pub(crate) fn accepts(&self, event: &ChatEvent) -> bool {
        let ChatEvent::MessageSent { chat_id, seq, .. } = event else {
            return false;
        };
        self.newest
            .get(chat_id)
            .is_none_or(|&i| big(*seq) > self.seq[i])
    }

    pub(crate) fn push(&mut self, pos: i64, event: ChatEvent) {
        let words = event.words().map(str::to_owned);
        let ChatEvent::MessageSent {
            chat_id,
            message_id,
            seq,
            sender_id,
            kind,
            at,
            ..
        } = event
        else {
            return;
        };
        let i = self.pos.len();
        self.chat_id.push(chat_id);
        self.seq.push(big(seq));
        self.at.push(at);
        self.pos.push(pos);
        self.message_id.push(message_id);
        self.sender_id.push(sender_id);
        self.kind.push(kind);
        self.text.push(words);
        self.newest.insert(chat_id, i);
        self.readers.insert((chat_id, sender_id), i);
    }

    /// Apply the run (if any) and start a new one.
    pub(crate) async fn flush(&mut self, conn: &mut PgConnection, s: &str) -> Result<()> {
        if self.pos.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(self);
        let (mut chats, mut lasts) = (Vec::new(), Vec::new());
        for (&chat_id, &i) in &run.newest {
            let last = LastMessage {
                message_id: run.message_id[i],
                seq: u64::try_from(run.seq[i]).unwrap_or(0),
                sender_id: run.sender_id[i],
                kind: run.kind[i],
                preview: preview(run.kind[i], run.text[i].as_deref()),
                sent_at: run.at[i],
                edited_at: None,
                deleted: false,
            };
            chats.push(chat_id);
            lasts.push(serde_json::to_value(&last).unwrap_or(serde_json::Value::Null));
        }
        let events = "unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::bigint[]) \
                      AS e(chat_id, seq, at, pos)";
        sqlx::query(&format!(
            "WITH n AS ( \
               SELECT e.chat_id, max(e.seq) AS seq, max(e.at) AS at, max(e.pos) AS pos, \
                 count(*) AS n \
               FROM {events} JOIN {s}.chats c ON c.chat_id = e.chat_id AND c.position < e.pos \
               GROUP BY e.chat_id) \
             UPDATE {s}.chats c SET last_seq = greatest(c.last_seq, n.seq), last_message = l.msg, \
               message_count = c.message_count + n.n, \
               last_activity_at = greatest(c.last_activity_at, n.at), position = n.pos \
             FROM n JOIN unnest($5::uuid[], $6::jsonb[]) AS l(chat_id, msg) ON l.chat_id = n.chat_id \
             WHERE c.chat_id = n.chat_id"
        ))
        .bind(&run.chat_id)
        .bind(&run.seq)
        .bind(&run.at)
        .bind(&run.pos)
        .bind(chats)
        .bind(lasts)
        .execute(&mut *conn)
        .await?;
        // Sending implies having read everything up to one's own message.
        let (mut chat, mut user, mut seq, mut at, mut pos) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (&(c, u), &i) in &run.readers {
            chat.push(c);
            user.push(u);
            seq.push(run.seq[i]);
            at.push(run.at[i]);
            pos.push(run.pos[i]);
        }
        sqlx::query(&format!(
            "UPDATE {s}.members m SET read_up_to = r.seq, read_at = r.at, position = r.pos \
             FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::timestamptz[], $5::bigint[]) \
               AS r(chat_id, user_id, seq, at, pos) \
             WHERE m.chat_id = r.chat_id AND m.user_id = r.user_id \
               AND m.read_up_to < r.seq AND m.position < r.pos"
        ))
        .bind(chat)
        .bind(user)
        .bind(seq)
        .bind(at)
        .bind(pos)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// An edit of the chat's last message refreshes its preview.
pub(crate) async fn message_edited(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    message_id: Uuid,
    text: String,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let kind: Option<(Option<serde_json::Value>,)> = sqlx::query_as(&format!(
        "SELECT last_message -> 'kind' FROM {s}.chats \
         WHERE chat_id = $1 AND position < $3 AND last_message ->> 'message_id' = $2::text"
    ))
    .bind(chat_id)
    .bind(message_id)
    .bind(pos)
    .fetch_optional(&mut *cx.conn)
    .await?;
    let Some((Some(kind),)) = kind else {
        return Ok(());
    };
    let kind: MessageKind = serde_json::from_value(kind).unwrap_or(MessageKind::Text);
    let patch = serde_json::json!({
        "preview": preview(kind, Some(&text)),
        "edited_at": at.format(&time::format_description::well_known::Rfc3339).ok(),
    });
    sqlx::query(&format!(
        "UPDATE {s}.chats SET last_message = last_message || $2, position = $3 \
         WHERE chat_id = $1 AND position < $3"
    ))
    .bind(chat_id)
    .bind(patch)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// Deleted for everyone: one message less; a deleted last message shows as
/// such.
pub(crate) async fn message_deleted(
    cx: &mut Ctx<'_>,
    chat_id: Uuid,
    message_id: Uuid,
    _at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let patch = serde_json::json!({ "preview": DELETED_PREVIEW, "deleted": true });
    sqlx::query(&format!(
        "UPDATE {s}.chats SET message_count = greatest(message_count - 1, 0), \
           last_message = CASE WHEN last_message ->> 'message_id' = $2::text \
             THEN last_message || $3 ELSE last_message END, \
           position = $4 \
         WHERE chat_id = $1 AND position < $4"
    ))
    .bind(chat_id)
    .bind(message_id)
    .bind(patch)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}

/// A member's receipts marker.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    Read,
    Delivered,
}

impl Marker {
    /// The marker's columns: (up to, when).
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Marker::Read => ("read_up_to", "read_at"),
            Marker::Delivered => ("delivered_up_to", "delivered_at"),
        }
    }
}

/// Move a member's marker forward (never backwards).
pub(crate) async fn marker_moved(
    cx: &mut Ctx<'_>,
    marker: Marker,
    chat_id: Uuid,
    user: Uuid,
    up_to_seq: u64,
    at: OffsetDateTime,
) -> Result<()> {
    let (s, pos) = (cx.s, cx.pos);
    let (up_to, when) = marker.columns();
    sqlx::query(&format!(
        "UPDATE {s}.members SET {up_to} = $3, {when} = $4, position = $5 \
         WHERE chat_id = $1 AND user_id = $2 AND {up_to} < $3 AND position < $5"
    ))
    .bind(chat_id)
    .bind(user)
    .bind(big(up_to_seq))
    .bind(at)
    .bind(pos)
    .execute(&mut *cx.conn)
    .await?;
    Ok(())
}
