//! The data keys of one append batch (`crate::sealing`): those its sealed
//! events need, as the pre-read found them, the ones it makes, and the
//! ones its events destroy, all in the batch's own transaction, so an
//! event is never stored without the key that opens it and a shredding
//! event is never stored while its keys survive.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use chat_domain::erasure::Shred;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::script::{bytea, uuid};
use crate::sealing::{DataKey, Sealer, seal_payload};
use crate::{NewEvent, Result};

/// The key ids the batch's events seal under (for the pre-read).
pub(crate) fn wanted<'a>(events: impl Iterator<Item = &'a NewEvent>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = events
        .filter_map(|e| e.seal.as_ref().map(|s| s.key.key))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[derive(Default)]
pub(crate) struct Keys {
    /// `None`: sealing is off, events are stored as they are.
    sealer: Option<Sealer>,
    /// Wrapped keys the pre-read found.
    stored: HashMap<Uuid, Vec<u8>>,
    open: HashMap<Uuid, DataKey>,
    /// `(key_id, owner, wrapped)` rows to insert.
    made: String,
    shred_keys: Vec<String>,
    shred_owners: Vec<String>,
}

impl Keys {
    pub(crate) fn new(sealer: Option<Sealer>, stored: HashMap<Uuid, Vec<u8>>) -> Keys {
        Keys {
            sealer,
            stored,
            ..Keys::default()
        }
    }

    /// The payload to store for `e`: sealed when it asks for it and sealing
    /// is on. Also notes the keys `e` destroys.
    pub(crate) fn stored_payload<'e>(&mut self, e: &'e NewEvent) -> Result<Cow<'e, Value>> {
        for shred in &e.shreds {
            match shred {
                Shred::Key(k) => self.shred_keys.push(uuid(*k)),
                Shred::OwnedBy(u) => self.shred_owners.push(uuid(*u)),
            }
        }
        let (Some(seal), Some(sealer)) = (&e.seal, &self.sealer) else {
            return Ok(Cow::Borrowed(&e.payload));
        };
        let id = seal.key.key;
        let key = match (self.open.get(&id), self.stored.get(&id)) {
            (Some(open), _) => open.clone(),
            (None, Some(wrapped)) => sealer.unwrap(id, wrapped)?,
            (None, None) => {
                let (key, wrapped) = sealer.new_key(id);
                if !self.made.is_empty() {
                    self.made.push_str(", ");
                }
                let _ = write!(
                    self.made,
                    "({}, {}, {})",
                    uuid(id),
                    uuid(seal.key.owner),
                    bytea(&wrapped)
                );
                key
            }
        };
        self.open.insert(id, key.clone());
        Ok(Cow::Owned(seal_payload(
            &key,
            (e.event_id, e.subject),
            &e.payload,
            seal,
        )?))
    }

    /// Statements to run before the events' insert (the new keys).
    pub(crate) fn before(&self) -> String {
        if self.made.is_empty() {
            return String::new();
        }
        format!(
            "INSERT INTO event_keys (key_id, owner, wrapped) VALUES {}; ",
            self.made
        )
    }

    /// Statements to run after it (the destroyed keys).
    pub(crate) fn after(&self) -> String {
        if self.shred_keys.is_empty() && self.shred_owners.is_empty() {
            return String::new();
        }
        format!(
            "; DELETE FROM event_keys WHERE key_id = ANY(ARRAY[{}]::uuid[]) \
               OR owner = ANY(ARRAY[{}]::uuid[])",
            self.shred_keys.join(","),
            self.shred_owners.join(",")
        )
    }
}

/// Wrap every data key still wrapped under the previous master key again
/// under the current one, a page at a time; answers how many. After it,
/// `MASTER_KEY_PREVIOUS` can go. Safe to run on several nodes at once:
/// an update applies only to the wrap it read.
pub async fn rewrap_keys(pool: &PgPool, sealer: &Sealer) -> Result<u64> {
    let (mut after, mut done) = (Uuid::nil(), 0);
    loop {
        let page: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT key_id, wrapped FROM event_keys WHERE key_id > $1 ORDER BY key_id LIMIT 1000",
        )
        .bind(after)
        .fetch_all(pool)
        .await?;
        let Some(last) = page.last() else {
            return Ok(done);
        };
        after = last.0;
        for (id, wrapped) in page {
            if let Some(again) = sealer.rewrap(id, &wrapped)? {
                sqlx::query(
                    "UPDATE event_keys SET wrapped = $2 WHERE key_id = $1 AND wrapped = $3",
                )
                .bind(id)
                .bind(again)
                .bind(wrapped)
                .execute(pool)
                .await?;
                done += 1;
            }
        }
    }
}
