//! One stored event as one Kafka record: key, value and headers.
//!
//! The value is the same JSON envelope auditors get from `/v1/audit/events`
//! and `chat replay` (a serialized [`RecordedEvent`], after upcasting), so
//! analysts, auditors and the schemas in `docs/events/` all speak one format.

use chat_domain::DomainEvent;
use chat_domain::erasure::SEALED_TYPES;
use chat_store::RecordedEvent;

use crate::projection::Fact;
use rdkafka::message::{Header, OwnedHeaders};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Event types whose `text` is message content (a body or a caption).
const TEXT_EVENTS: [&str; 2] = ["MessageSent", "MessageEdited"];

/// How bodies are published.
#[derive(Debug, Clone, Default)]
pub enum Redaction {
    /// Personal data left out: the event as the log keeps it once its
    /// key is destroyed (blank texts and names, see
    /// `chat_domain::erasure`), so nothing an erasure must remove is ever
    /// in the topic.
    #[default]
    None,
    /// Message text replaced by its length and `sha256(salt ‖ text)`: enough
    /// to count, deduplicate and join on equal texts, not to read them. The
    /// salt keeps short texts ("ok", "yes") from being looked up in a table
    /// of known hashes.
    Bodies { salt: String },
}

/// A record ready to hand to the producer.
#[derive(Debug, Clone)]
pub struct Record {
    /// The stream id: every event of a chat lands on one partition, in order.
    pub key: String,
    pub value: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Record {
    pub fn build(
        event: &RecordedEvent,
        redaction: &Redaction,
    ) -> Result<Record, serde_json::Error> {
        // Straight to bytes unless a body must change: the intermediate
        // `Value` tree costs more than the rest of the record.
        let blank = public_payload(event);
        let text_event = TEXT_EVENTS.contains(&event.event_type.as_str());
        let value = match (redaction, blank) {
            (Redaction::Bodies { salt }, _) if text_event => {
                let mut value = serde_json::to_value(event)?;
                redact(&mut value, salt);
                serde_json::to_vec(&value)?
            }
            (_, Some(blank)) => {
                let mut value = serde_json::to_value(event)?;
                value["payload"] = blank;
                serde_json::to_vec(&value)?
            }
            (_, None) => serde_json::to_vec(event)?,
        };
        Ok(Record {
            key: event.stream.clone(),
            value,
            headers: vec![
                ("event_type", event.event_type.clone()),
                ("schema_version", event.schema_version.to_string()),
                ("event_id", event.event_id.to_string()),
                ("position", event.position.to_string()),
                ("stream", event.stream.clone()),
                ("version", event.version.to_string()),
                ("content-type", "application/json".to_owned()),
            ],
        })
    }

    pub fn kafka_headers(&self) -> OwnedHeaders {
        self.headers.iter().fold(
            OwnedHeaders::new_with_capacity(self.headers.len()),
            |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                })
            },
        )
    }
}

/// The payload without its personal data, for events that carry some.
fn public_payload(event: &RecordedEvent) -> Option<Value> {
    if !SEALED_TYPES.contains(&event.event_type.as_str()) {
        return None;
    }
    let blank = match Fact::decode(event).ok()?? {
        Fact::Chat(e) => serde_json::to_value(e.redacted()?.1),
        Fact::User(e) => serde_json::to_value(e.redacted()?.1),
    };
    blank.ok()
}

/// Replace the message text of an envelope in place (see [`Redaction`]).
/// Envelopes of other event types are left alone and not marked.
pub fn redact(envelope: &mut Value, salt: &str) {
    let is_text_event = envelope["type"]
        .as_str()
        .is_some_and(|t| TEXT_EVENTS.contains(&t));
    if !is_text_event {
        return;
    }
    if let Some(payload) = envelope.get_mut("payload").and_then(Value::as_object_mut) {
        if let Some(text) = payload.get("text").and_then(Value::as_str) {
            let digest = Sha256::new()
                .chain_update(salt.as_bytes())
                .chain_update(text.as_bytes())
                .finalize();
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let length = text.chars().count();
            payload.insert(
                "text_redacted".to_owned(),
                json!({ "length": length, "sha256": hex }),
            );
        }
        payload.insert("text".to_owned(), Value::Null);
        // A poll's words are content too, and a place tells where someone
        // is: a redacted topic carries the message's kind, not its body.
        payload.remove("poll");
        payload.remove("location");
    }
    envelope["redacted"] = Value::Bool(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, text: Value) -> Value {
        json!({"type": kind, "payload": {"type": kind, "text": text, "seq": 1}})
    }

    #[test]
    fn message_text_becomes_its_length_and_a_salted_hash() {
        let mut v = envelope("MessageSent", json!("héllo"));
        redact(&mut v, "pepper");
        assert_eq!(v["payload"]["text"], Value::Null);
        assert_eq!(v["payload"]["text_redacted"]["length"], 5);
        let expected: String = Sha256::digest(b"pepperh\xc3\xa9llo")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v["payload"]["text_redacted"]["sha256"], expected);
        assert_eq!(v["payload"]["seq"], 1, "other fields stay");
        assert_eq!(v["redacted"], true);
    }

    #[test]
    fn a_caption_less_media_message_has_nothing_to_hash() {
        let mut v = envelope("MessageSent", Value::Null);
        redact(&mut v, "");
        assert_eq!(v["payload"]["text"], Value::Null);
        assert!(v["payload"].get("text_redacted").is_none());
    }

    #[test]
    fn other_events_are_untouched() {
        let mut v =
            json!({"type": "ProfileUpdated", "payload": {"display_name": "Ann", "text": "x"}});
        let before = v.clone();
        redact(&mut v, "s");
        assert_eq!(v, before);
    }

    #[test]
    fn edits_are_redacted_too() {
        let mut v = envelope("MessageEdited", json!("secret"));
        redact(&mut v, "s");
        assert_eq!(v["payload"]["text"], Value::Null);
        assert_eq!(v["payload"]["text_redacted"]["length"], 6);
    }
}
