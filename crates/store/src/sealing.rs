//! Personal data in stored events, sealed under keys kept outside the log
//! (crypto-shredding; `docs/decisions/0018-erasure.md`).
//!
//! An event the domain marks ([`chat_domain::DomainEvent::redacted`]) is
//! stored as its blanked payload plus `"$sealed": {"key", "data"}` (`key`
//! left out when it is the event's subject, as for a message), where
//! `data` is the original values of the blanked fields, encrypted with
//! AES-256-GCM under a random data key bound to the event id. Data keys
//! live in `event_keys`, each wrapped by the master key ([`KeyWrap`]).
//! The hash chain covers the stored payload, so destroying a key changes
//! nothing the chain covers: the event reads as its blanked form for ever.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chat_common::sealing::KeyWrap;
use chat_domain::erasure::SealKey;
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{Result, StoreError};

/// The payload field that carries the sealed values.
pub const SEALED: &str = "$sealed";

const NONCE_LEN: usize = 12;

/// What of a new event is sealed, and under which key: the blanked values
/// of the fields that carry personal data (the stored payload has these;
/// the originals go into the seal).
#[derive(Debug, Clone, PartialEq)]
pub struct Seal {
    pub key: SealKey,
    pub blanks: Map<String, Value>,
}

impl Seal {
    /// The fields where `payload` and its redacted form differ, with the
    /// redacted values. `None` when nothing differs.
    pub fn between(key: SealKey, payload: &Value, redacted: &Value) -> Option<Seal> {
        let (Value::Object(full), Value::Object(blank)) = (payload, redacted) else {
            return None;
        };
        let blanks: Map<String, Value> = full
            .iter()
            .filter(|(k, v)| blank.get(*k) != Some(*v))
            .map(|(k, _)| (k.clone(), blank.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        (!blanks.is_empty()).then_some(Seal { key, blanks })
    }
}

/// A data key, unwrapped.
#[derive(Clone)]
pub struct DataKey(Arc<Aes256Gcm>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// An event sealed under a key of its own before it reached the appender
/// (a message's first event makes its key): the work runs on the caller's
/// task, in parallel, not in the one appender's transaction.
#[derive(Debug, Clone)]
pub struct Presealed {
    pub stored: Value,
    pub wrapped: Vec<u8>,
    pub key: DataKey,
}

impl PartialEq for Presealed {
    fn eq(&self, other: &Self) -> bool {
        self.stored == other.stored && self.wrapped == other.wrapped
    }
}

/// Makes, wraps and opens data keys under the master key.
#[derive(Clone)]
pub struct Sealer {
    wrap: Arc<dyn KeyWrap>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

fn context(key_id: Uuid) -> Vec<u8> {
    format!("event-key:{key_id}").into_bytes()
}

impl Sealer {
    pub fn new(wrap: Arc<dyn KeyWrap>) -> Sealer {
        Sealer { wrap }
    }

    /// A fresh data key and its wrapped form (what `event_keys` stores).
    pub fn new_key(&self, key_id: Uuid) -> (DataKey, Vec<u8>) {
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let wrapped = self.wrap.seal(&raw, &context(key_id));
        (DataKey(Arc::new(Aes256Gcm::new(&raw.into()))), wrapped)
    }

    /// Seal `e` now if it brings its key into being (its subject is the
    /// key: a message's `MessageSent`); other sealed events are sealed in
    /// the append, under the key the pre-read found.
    pub fn preseal(&self, e: &mut crate::NewEvent) -> Result<()> {
        let Some(seal) = &e.seal else {
            return Ok(());
        };
        if !(e.creates_subject && e.subject == Some(seal.key.key)) || e.presealed.is_some() {
            return Ok(());
        }
        let (key, wrapped) = self.new_key(seal.key.key);
        let stored = seal_payload(&key, (e.event_id, e.subject), &e.payload, seal)?;
        e.presealed = Some(Presealed {
            stored,
            wrapped,
            key,
        });
        Ok(())
    }

    pub fn unwrap(&self, key_id: Uuid, wrapped: &[u8]) -> Result<DataKey> {
        let raw = self
            .wrap
            .open(wrapped, &context(key_id))
            .map_err(|e| StoreError::Sealing(format!("data key {key_id}: {e}")))?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| StoreError::Sealing(format!("data key {key_id}: not 32 bytes")))?;
        Ok(DataKey(Arc::new(Aes256Gcm::new(&raw.into()))))
    }

    /// `wrapped` wrapped again under the current master key, if it was
    /// wrapped under an older one (`MASTER_KEY_PREVIOUS`).
    pub fn rewrap(&self, key_id: Uuid, wrapped: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.wrap.is_stale(wrapped) {
            return Ok(None);
        }
        let raw = self
            .wrap
            .open(wrapped, &context(key_id))
            .map_err(|e| StoreError::Sealing(format!("data key {key_id}: {e}")))?;
        Ok(Some(self.wrap.seal(&raw, &context(key_id))))
    }
}

/// The payload as stored: `payload` with the sealed fields blanked and
/// their originals encrypted under `key`, bound to `event_id`.
pub fn seal_payload(
    key: &DataKey,
    (event_id, subject): (Uuid, Option<Uuid>),
    payload: &Value,
    seal: &Seal,
) -> Result<Value> {
    let Value::Object(full) = payload else {
        return Err(StoreError::Encode(
            "a sealed payload must be an object".into(),
        ));
    };
    let mut stored = full.clone();
    let mut secret = Map::new();
    for (field, blank) in &seal.blanks {
        if let Some(original) = stored.insert(field.clone(), blank.clone()) {
            secret.insert(field.clone(), original);
        }
    }
    let plain = Value::Object(secret).to_string();
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let body = key
        .0
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain.as_bytes(),
                aad: event_id.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Encode("cannot seal".into()))?;
    let mut data = nonce.to_vec();
    data.extend_from_slice(&body);
    // A message's key is its id, already the event's subject: not
    // written twice (every byte of a send is in the WAL).
    let mut sealed = Map::new();
    if subject != Some(seal.key.key) {
        sealed.insert("key".to_owned(), Value::String(seal.key.key.to_string()));
    }
    sealed.insert("data".to_owned(), Value::String(STANDARD.encode(data)));
    stored.insert(SEALED.to_owned(), Value::Object(sealed));
    Ok(Value::Object(stored))
}

/// The key id a stored payload was sealed under, if it was: its own
/// `key`, else the event's subject.
pub fn sealed_key(stored: &Value, subject: Option<Uuid>) -> Option<Uuid> {
    let sealed = stored.get(SEALED)?;
    match sealed.get("key") {
        Some(key) => key.as_str().and_then(|k| k.parse().ok()),
        None => subject,
    }
}

/// The payload as readers get it: the originals put back when the key
/// still exists, the blanks left when it was destroyed.
pub fn open_payload(key: Option<&DataKey>, event_id: Uuid, mut stored: Value) -> Result<Value> {
    let Some(map) = stored.as_object_mut() else {
        return Ok(stored);
    };
    let Some(sealed) = map.remove(SEALED) else {
        return Ok(stored);
    };
    let Some(key) = key else {
        return Ok(stored);
    };
    let forged = || StoreError::Sealing(format!("event {event_id}: the sealed data does not open"));
    let data = sealed
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| STANDARD.decode(d).ok())
        .filter(|d| d.len() > NONCE_LEN)
        .ok_or_else(forged)?;
    let (nonce, body) = data.split_at(NONCE_LEN);
    let plain = key
        .0
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: event_id.as_bytes(),
            },
        )
        .map_err(|_| forged())?;
    let secret: Map<String, Value> = serde_json::from_slice(&plain).map_err(|_| forged())?;
    map.extend(secret);
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_common::config::Secret;
    use chat_common::sealing::MasterKey;
    use serde_json::json;

    fn sealer() -> Sealer {
        let master = MasterKey::new(
            &Secret::new("a master key of at least thirty-two bytes"),
            None,
        );
        Sealer::new(Arc::new(master))
    }

    #[test]
    fn a_sealed_payload_opens_with_its_key_and_reads_blank_without_it() {
        let full = json!({"type": "MessageSent", "text": "the secret", "seq": 1});
        let blank = json!({"type": "MessageSent", "text": null, "seq": 1});
        let key = SealKey {
            key: Uuid::from_u128(1),
            owner: Uuid::from_u128(2),
        };
        let seal = Seal::between(key, &full, &blank).expect("text differs");
        let sealer = sealer();
        let (data_key, wrapped) = sealer.new_key(key.key);
        let event = Uuid::from_u128(5);
        let stored = seal_payload(&data_key, (event, None), &full, &seal).unwrap();
        assert!(!stored.to_string().contains("secret"));
        assert_eq!(sealed_key(&stored, None), Some(key.key));
        let by_subject = seal_payload(&data_key, (event, Some(key.key)), &full, &seal).unwrap();
        assert!(
            by_subject[SEALED].get("key").is_none(),
            "the subject names it"
        );
        assert_eq!(sealed_key(&by_subject, Some(key.key)), Some(key.key));
        let reopened = sealer.unwrap(key.key, &wrapped).unwrap();
        assert_eq!(
            open_payload(Some(&reopened), event, stored.clone()).unwrap(),
            full
        );
        assert_eq!(open_payload(None, event, stored.clone()).unwrap(), blank);
        assert!(
            open_payload(Some(&reopened), Uuid::from_u128(6), stored).is_err(),
            "bound to its event"
        );
        assert!(sealer.unwrap(Uuid::from_u128(9), &wrapped).is_err());
    }
}
