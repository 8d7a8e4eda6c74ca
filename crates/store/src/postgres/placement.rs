//! Deciding each request of a batch against the store as the pre-read found
//! it, in order, as if the requests before it in the batch had been
//! committed: expected versions, idempotent replays of known event ids, and
//! subjects that already exist. Placed events are staged as rows.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::append::{AppendRequest, valid_stream};
use super::script::Inserts;
use crate::{AppendResult, Result, StoreError, chain};

/// A stream's newest version and the hash its next event chains onto.
#[derive(Clone, Copy)]
struct StreamTip {
    version: u64,
    hash: [u8; 32],
}

/// Where an already stored (or already batched) event sits.
#[derive(Clone)]
struct Placed {
    stream: String,
    version: u64,
    position: u64,
}

/// What the batch knows of the store: the pre-read's answer, then updated
/// as each request is placed.
pub(crate) struct Facts {
    pub head: u64,
    /// The transaction's `now()`: every row's `recorded_at`.
    pub now: OffsetDateTime,
    versions: HashMap<String, StreamTip>,
    placed: HashMap<Uuid, Placed>,
    taken: HashMap<(String, Uuid), Placed>,
    /// Wrapped data keys the batch's sealed events need.
    pub keys: HashMap<Uuid, Vec<u8>>,
}

impl Facts {
    /// Read the pre-read's rows (see [`super::script::facts`]); rows of
    /// other shapes (the lock's) are skipped.
    pub(crate) fn from_rows(rows: &[PgRow]) -> Result<Facts> {
        let mut facts = Facts {
            head: 0,
            now: OffsetDateTime::UNIX_EPOCH,
            versions: HashMap::new(),
            placed: HashMap::new(),
            taken: HashMap::new(),
            keys: HashMap::new(),
        };
        for row in rows.iter().filter(|r| r.len() == 7) {
            let kind: i16 = row.try_get(0)?;
            let stream: Option<String> = row.try_get(1)?;
            let id: Option<Uuid> = row.try_get(2)?;
            let (a, b): (i64, i64) = (row.try_get(3)?, row.try_get(4)?);
            let at = |stream| Placed {
                stream,
                version: a as u64,
                position: b as u64,
            };
            match (kind, stream, id) {
                (0, _, _) => {
                    facts.head = a as u64;
                    // In microseconds: this script runs in the simple
                    // (text) protocol, and a timestamp's text did not
                    // always parse (`InvalidLiteral`, seen in a test run).
                    let micros: i64 = row.try_get(6)?;
                    facts.now =
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
                            .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
                }
                (1, Some(s), _) => {
                    let hash: Option<Vec<u8>> = row.try_get(5)?;
                    let hash = hash
                        .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
                        .unwrap_or(chain::GENESIS);
                    let version = a as u64;
                    facts.versions.insert(s, StreamTip { version, hash });
                }
                (2, Some(s), Some(id)) => {
                    facts.placed.insert(id, at(s));
                }
                (3, Some(s), Some(subject)) => {
                    facts.taken.insert((s.clone(), subject), at(s));
                }
                (4, _, Some(key)) => {
                    let wrapped: Option<Vec<u8>> = row.try_get(5)?;
                    facts.keys.insert(key, wrapped.unwrap_or_default());
                }
                _ => {}
            }
        }
        Ok(facts)
    }

    /// Place every request in order, staging the rows of those that append.
    pub(crate) fn place_all(
        &mut self,
        reqs: &[AppendRequest],
        rows: &mut Inserts,
    ) -> Vec<Result<AppendResult>> {
        reqs.iter().map(|req| self.place(req, rows)).collect()
    }

    /// Decide one request's fate against the state as of the earlier
    /// requests of the same batch, and stage its rows.
    fn place(&mut self, req: &AppendRequest, rows: &mut Inserts) -> Result<AppendResult> {
        let Facts {
            head,
            placed,
            taken,
            versions,
            ..
        } = self;
        if req.events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if !valid_stream(&req.stream) {
            return Err(StoreError::InvalidStream(req.stream.clone()));
        }
        let known: Vec<Option<&Placed>> =
            req.events.iter().map(|e| placed.get(&e.event_id)).collect();
        if known.iter().any(Option::is_some) {
            return replayed(req, &known);
        }
        let mut unique: Vec<Uuid> = req.events.iter().map(|e| e.event_id).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != req.events.len() {
            return Err(StoreError::IdempotencyMismatch);
        }

        for e in req.events.iter().filter(|e| e.creates_subject) {
            if let Some(first) = e
                .subject
                .and_then(|sub| taken.get(&(req.stream.clone(), sub)))
            {
                return Err(StoreError::SubjectTaken {
                    stream: req.stream.clone(),
                    subject: e.subject.unwrap_or_default(),
                    version: first.version,
                    position: first.position,
                });
            }
        }
        let tip = versions.get(&req.stream).copied().unwrap_or(StreamTip {
            version: 0,
            hash: chain::GENESIS,
        });
        let current = tip.version;
        if !req.expected.matches(current) {
            return Err(StoreError::WrongExpectedVersion {
                stream: req.stream.clone(),
                expected: req.expected,
                actual: current,
            });
        }
        let first_position = *head + 1;
        let mut prev = tip.hash;
        for (i, e) in req.events.iter().enumerate() {
            let version = current + 1 + i as u64;
            let position = first_position + i as u64;
            prev = rows.push(&req.stream, version, position, e, &prev)?;
            if let (true, Some(subject)) = (e.creates_subject, e.subject) {
                taken.insert(
                    (req.stream.clone(), subject),
                    Placed {
                        stream: req.stream.clone(),
                        version,
                        position,
                    },
                );
            }
            placed.insert(
                e.event_id,
                Placed {
                    stream: req.stream.clone(),
                    version,
                    position,
                },
            );
        }
        let n = req.events.len() as u64;
        *head += n;
        versions.insert(
            req.stream.clone(),
            StreamTip {
                version: current + n,
                hash: prev,
            },
        );
        Ok(AppendResult {
            stream: req.stream.clone(),
            first_version: current + 1,
            last_version: current + n,
            first_position,
            last_position: *head,
            already_appended: false,
        })
    }
}

/// Every id known, in this stream, in this order: the original result.
/// Anything else reuses ids for a different append.
fn replayed(req: &AppendRequest, known: &[Option<&Placed>]) -> Result<AppendResult> {
    let all: Option<Vec<&Placed>> = known.iter().copied().collect();
    let all = all.ok_or(StoreError::IdempotencyMismatch)?;
    let consecutive = all.windows(2).all(|w| w[1].version == w[0].version + 1);
    if !consecutive || all.iter().any(|p| p.stream != req.stream) {
        return Err(StoreError::IdempotencyMismatch);
    }
    let (first, last) = (all[0], all[all.len() - 1]);
    Ok(AppendResult {
        stream: req.stream.clone(),
        first_version: first.version,
        last_version: last.version,
        first_position: first.position,
        last_position: last.position,
        already_appended: true,
    })
}
