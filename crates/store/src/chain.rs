//! The per-stream hash chain that makes history tamper-evident.
//!
//! `hash(e) = sha256(hash(previous event of the stream) ‖ canonical(e))`, with
//! 32 zero bytes before version 1. `canonical(e)` is the envelope as JSON
//! with object keys sorted and no whitespace, written by hand so no serde
//! feature flag can change the bytes: event id, stream, version, type,
//! schema version, occurred_at (RFC 3339, microseconds, as Postgres keeps
//! it), the payload as stored (before upcasting) and the metadata.
//! The global position is left out: it belongs to the log, not the stream.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub const GENESIS: [u8; 32] = [0; 32];

/// The fields that are hashed, as stored.
pub struct Envelope<'a> {
    pub event_id: Uuid,
    pub stream: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub schema_version: u16,
    pub occurred_at: OffsetDateTime,
    pub payload: &'a Value,
    pub metadata: &'a Value,
}

/// Postgres keeps microseconds; hash exactly what a later read returns.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

pub fn hash(prev: &[u8], e: &Envelope<'_>) -> [u8; 32] {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"event_id\":");
    write_str(&mut out, &e.event_id.to_string());
    out.extend_from_slice(b",\"metadata\":");
    write_value(&mut out, e.metadata);
    out.extend_from_slice(b",\"occurred_at\":");
    let at = to_micros(e.occurred_at)
        .format(&Rfc3339)
        .unwrap_or_default();
    write_str(&mut out, &at);
    out.extend_from_slice(b",\"payload\":");
    write_value(&mut out, e.payload);
    out.extend_from_slice(b",\"schema_version\":");
    out.extend_from_slice(e.schema_version.to_string().as_bytes());
    out.extend_from_slice(b",\"stream\":");
    write_str(&mut out, e.stream);
    out.extend_from_slice(b",\"type\":");
    write_str(&mut out, e.event_type);
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(e.version.to_string().as_bytes());
    out.push(b'}');
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&out);
    h.finalize().into()
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's string escaping is canonical already (minimal escapes).
    out.extend_from_slice(Value::String(s.to_owned()).to_string().as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, &map[k]);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env<'a>(payload: &'a Value, meta: &'a Value) -> Envelope<'a> {
        Envelope {
            event_id: Uuid::nil(),
            stream: "chat-x",
            version: 1,
            event_type: "E",
            schema_version: 1,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            payload,
            metadata: meta,
        }
    }

    #[test]
    fn key_order_does_not_change_the_hash_but_content_does() {
        let meta = json!({});
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": "s", "y": [1, 2]}, "b": 1}"#).unwrap();
        let c = json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
        assert_eq!(
            hash(&GENESIS, &env(&a, &meta)),
            hash(&GENESIS, &env(&b, &meta))
        );
        assert_ne!(
            hash(&GENESIS, &env(&a, &meta)),
            hash(&GENESIS, &env(&c, &meta))
        );
        assert_ne!(
            hash(&GENESIS, &env(&a, &meta)),
            hash(&[1; 32], &env(&a, &meta))
        );
    }
}
