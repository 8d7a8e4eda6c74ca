//! The append's SQL, as two scripts run with the simple protocol so that
//! each is one round trip: `[BEGIN;] lock; pre-read` and `insert; notify;
//! [COMMIT]`. Bound parameters would need the extended protocol, which runs
//! one statement per round trip; values are written as literals instead.
//!
//! Literals are safe by construction: the connection runs with
//! `standard_conforming_strings = on` (set in [`super::setup::tuned`]), so
//! inside `'…'` only a quote is special and is doubled; NUL, which Postgres
//! text cannot hold, is refused; numbers, UUIDs, timestamps and hex bytes
//! are rendered by us.

use std::fmt::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::NOTIFY_CHANNEL;
use super::append::{APPEND_LOCK, AppendRequest};
use super::keys::Keys;
use crate::{NewEvent, Result, StoreError, chain};

/// `'text'`, or an error for text Postgres cannot store.
pub(crate) fn text(s: &str) -> Result<String> {
    if s.contains('\0') {
        return Err(StoreError::Encode("text with a NUL character".into()));
    }
    Ok(format!("'{}'", s.replace('\'', "''")))
}

pub(crate) fn uuid(u: Uuid) -> String {
    format!("'{u}'::uuid")
}

fn timestamp(t: OffsetDateTime) -> Result<String> {
    let s = t
        .format(&Rfc3339)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(format!("'{s}'::timestamptz"))
}

pub(crate) fn bytea(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 * b.len() + 14);
    s.push_str("'\\x");
    for byte in b {
        let _ = write!(s, "{byte:02x}");
    }
    s.push_str("'::bytea");
    s
}

fn array(items: Vec<String>, ty: &str) -> String {
    format!("ARRAY[{}]::{ty}[]", items.join(","))
}

/// The first script: the lock (after `BEGIN` when the appender owns the
/// transaction) and the pre-read, whose rows are
/// `(kind, stream, id, a, b, hash, now)`: kind 0 the log head and the
/// transaction's `now()`; 1 a stream's version and chain tip; 2 an event id
/// already stored; 3 the first event about a subject the batch would create;
/// 4 a data key the batch's sealed events need (`id`, wrapped in `hash`).
///
/// The lock must be a statement of its own: a read in the same statement
/// would use a snapshot taken before the lock was granted and miss the
/// previous holder's commit. Each statement of a script takes its own.
pub(crate) fn facts(reqs: &[AppendRequest], begin: bool) -> Result<String> {
    let mut streams: Vec<&str> = reqs.iter().map(|r| r.stream.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    let streams = streams.into_iter().map(text).collect::<Result<Vec<_>>>()?;
    let ids = reqs
        .iter()
        .flat_map(|r| r.events.iter().map(|e| uuid(e.event_id)))
        .collect();
    let (mut subject_streams, mut subjects) = (Vec::new(), Vec::new());
    for r in reqs {
        for e in r.events.iter().filter(|e| e.creates_subject) {
            if let Some(subject) = e.subject {
                subject_streams.push(text(&r.stream)?);
                subjects.push(uuid(subject));
            }
        }
    }
    let keys = super::keys::wanted(reqs.iter().flat_map(|r| r.events.iter()))
        .into_iter()
        .map(uuid)
        .collect();
    let keys = array(keys, "uuid");
    let (streams, ids) = (array(streams, "text"), array(ids, "uuid"));
    let (subject_streams, subjects) = (array(subject_streams, "text"), array(subjects, "uuid"));
    Ok(format!(
        "{begin}SELECT pg_advisory_xact_lock({APPEND_LOCK}); \
         SELECT 0::int2, NULL::text, NULL::uuid, coalesce(max(position), 0), 0::int8, NULL::bytea, \
                (extract(epoch FROM now()) * 1000000)::int8 FROM events \
         UNION ALL \
         SELECT 1::int2, s, NULL::uuid, coalesce(last.version, 0), 0::int8, last.hash, NULL \
           FROM unnest({streams}) AS s \
           LEFT JOIN LATERAL (SELECT version, hash FROM events WHERE stream = s \
                              ORDER BY version DESC LIMIT 1) last ON true \
         UNION ALL \
         SELECT 2::int2, stream, event_id, version, position, NULL::bytea, NULL FROM events \
          WHERE event_id = ANY({ids}) \
         UNION ALL \
         SELECT 3::int2, q.stream, q.subject, first.version, first.position, NULL::bytea, NULL \
           FROM unnest({subject_streams}, {subjects}) AS q(stream, subject) \
           JOIN LATERAL (SELECT version, position FROM events \
                          WHERE stream = q.stream AND subject = q.subject \
                          ORDER BY version LIMIT 1) first ON true \
         UNION ALL \
         SELECT 4::int2, NULL::text, key_id, 0::int8, 0::int8, wrapped, NULL FROM event_keys \
          WHERE key_id = ANY({keys})",
        begin = if begin { "BEGIN; " } else { "" },
    ))
}

/// The rows of one multi-row `INSERT`, built as the batch is placed, and
/// the data keys they need or destroy.
pub(crate) struct Inserts {
    values: String,
    count: usize,
    keys: Keys,
}

impl Inserts {
    pub(crate) fn new(keys: Keys) -> Inserts {
        Inserts {
            values: String::new(),
            count: 0,
            keys,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Stage one event; returns its chain hash.
    pub(crate) fn push(
        &mut self,
        stream: &str,
        version: u64,
        position: u64,
        e: &NewEvent,
        prev: &[u8; 32],
    ) -> Result<[u8; 32]> {
        let occurred_at = chain::to_micros(e.occurred_at);
        let payload = self.keys.stored_payload(e)?;
        let metadata =
            serde_json::to_value(&e.metadata).map_err(|err| StoreError::Encode(err.to_string()))?;
        let hash = chain::hash(
            prev,
            &chain::Envelope {
                event_id: e.event_id,
                stream,
                version,
                event_type: &e.event_type,
                schema_version: e.schema_version,
                occurred_at,
                payload: &payload,
                metadata: &metadata,
            },
        );
        if self.count > 0 {
            self.values.push_str(", ");
        }
        let _ = write!(
            self.values,
            "({position}, {}, {}, {version}, {}, {}, {}, {}::jsonb, {}::jsonb, {}, {})",
            uuid(e.event_id),
            text(stream)?,
            text(&e.event_type)?,
            e.schema_version,
            e.subject.map_or_else(|| "NULL".to_owned(), uuid),
            text(&payload.to_string())?,
            text(&metadata.to_string())?,
            timestamp(occurred_at)?,
            bytea(&hash),
        );
        self.count += 1;
        Ok(hash)
    }

    /// The second script: the rows, then a NOTIFY carrying the new head and
    /// the writing store's id (sent by Postgres only when the transaction
    /// commits), then `COMMIT` when the appender owns the transaction.
    pub(crate) fn script(&self, head: u64, origin: Option<Uuid>, commit: bool) -> Result<String> {
        let payload = text(&super::subscribe::notification(head, origin))?;
        Ok(format!(
            "{}INSERT INTO events (position, event_id, stream, version, event_type, schema_version, \
                                 subject, payload, metadata, occurred_at, hash) VALUES {}{}; \
             SELECT pg_notify('{NOTIFY_CHANNEL}', {payload}){}",
            self.keys.before(),
            self.values,
            self.keys.after(),
            if commit { "; COMMIT" } else { "" }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_keep_backslashes_and_refuse_nul() {
        assert_eq!(text("it's").unwrap(), "'it''s'");
        assert_eq!(text(r"a\'b").unwrap(), r"'a\''b'");
        assert_eq!(
            text("'; DROP TABLE events; --").unwrap(),
            "'''; DROP TABLE events; --'"
        );
        assert!(text("a\0b").is_err());
        assert_eq!(bytea(&[0, 255, 16]), r"'\x00ff10'::bytea");
    }
}
