//! Integrity checks of the hash chain (`chat audit verify`, the audit API).
//! Reads the rows as stored (no upcasting) and recomputes every hash.

use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgEventStore;
use crate::{Result, chain};

const PAGE: i64 = 5_000;

/// One stream's verdict: where its chain first breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamVerification {
    pub stream: String,
    pub events: u64,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole log's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogVerification {
    pub streams: u64,
    pub events: u64,
    pub valid: bool,
    /// Every stream whose chain breaks, with its first broken link.
    pub broken: Vec<StreamVerification>,
    /// The first global position missing from the log. Appends assign
    /// positions without gaps, so a hole means events were deleted; this
    /// also catches a stream deleted whole, or the tail of a stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_missing_position: Option<u64>,
}

/// Folds one stream's rows in version order.
struct Checker {
    report: StreamVerification,
    prev: [u8; 32],
}

impl Checker {
    fn new(stream: &str) -> Self {
        Checker {
            report: StreamVerification {
                stream: stream.to_owned(),
                events: 0,
                valid: true,
                first_broken_version: None,
                first_broken_position: None,
                reason: None,
            },
            prev: chain::GENESIS,
        }
    }

    fn check(&mut self, row: &PgRow) -> Result<()> {
        let version = row.try_get::<i64, _>("version")? as u64;
        let position = row.try_get::<i64, _>("position")? as u64;
        let stored: Option<Vec<u8>> = row.try_get("hash")?;
        let payload: serde_json::Value = row.try_get("payload")?;
        let metadata: serde_json::Value = row.try_get("metadata")?;
        let event_type: String = row.try_get("event_type")?;
        let stream: String = row.try_get("stream")?;
        let expected = chain::hash(
            &self.prev,
            &chain::Envelope {
                event_id: row.try_get("event_id")?,
                stream: &stream,
                version,
                event_type: &event_type,
                schema_version: row.try_get::<i32, _>("schema_version")? as u16,
                occurred_at: row.try_get("occurred_at")?,
                payload: &payload,
                metadata: &metadata,
            },
        );
        self.report.events += 1;
        if !self.report.valid {
            return Ok(());
        }
        let problem = if version != self.report.events {
            Some(format!(
                "expected version {}, found {version}",
                self.report.events
            ))
        } else {
            match stored {
                None => Some("the event has no hash".to_owned()),
                Some(h) if h.as_slice() != expected.as_slice() => {
                    Some("the stored hash does not match the event's contents".to_owned())
                }
                Some(_) => None,
            }
        };
        if let Some(reason) = problem {
            self.report.valid = false;
            self.report.first_broken_version = Some(version);
            self.report.first_broken_position = Some(position);
            self.report.reason = Some(reason);
        }
        self.prev = expected;
        Ok(())
    }
}

const COLUMNS: &str = "position, event_id, stream, version, event_type, schema_version, \
                       payload, metadata, occurred_at, hash";

impl PgEventStore {
    /// Recompute one stream's chain and report its first broken link.
    pub async fn verify_stream(&self, stream: &str) -> Result<StreamVerification> {
        let mut checker = Checker::new(stream);
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM events WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3"
            ))
            .bind(stream)
            .bind(after)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            for row in &rows {
                checker.check(row)?;
                after = row.try_get("version")?;
            }
            if (rows.len() as i64) < PAGE {
                return Ok(checker.report);
            }
        }
    }

    /// Recompute every stream's chain, walking the log in (stream, version)
    /// order through its unique index.
    pub async fn verify_all(&self) -> Result<LogVerification> {
        let mut out = LogVerification {
            streams: 0,
            events: 0,
            valid: true,
            broken: Vec::new(),
            first_missing_position: None,
        };
        let mut current: Option<Checker> = None;
        let (mut after_stream, mut after_version) = (String::new(), 0i64);
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM events WHERE (stream, version) > ($1, $2) \
                 ORDER BY stream, version LIMIT $3"
            ))
            .bind(&after_stream)
            .bind(after_version)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            for row in &rows {
                let stream: String = row.try_get("stream")?;
                if current.as_ref().is_none_or(|c| c.report.stream != stream) {
                    if let Some(done) = current.take() {
                        finish(&mut out, done.report);
                    }
                    current = Some(Checker::new(&stream));
                }
                if let Some(c) = current.as_mut() {
                    c.check(row)?;
                }
                after_version = row.try_get("version")?;
                after_stream = stream;
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        if let Some(done) = current.take() {
            finish(&mut out, done.report);
        }
        let missing: Option<(i64,)> = sqlx::query_as(
            "SELECT 1::int8 WHERE NOT EXISTS (SELECT 1 FROM events WHERE position = 1) \
               AND EXISTS (SELECT 1 FROM events) \
             UNION ALL \
             (SELECT e.position + 1 FROM events e \
               WHERE e.position < (SELECT max(position) FROM events) \
                 AND NOT EXISTS (SELECT 1 FROM events n WHERE n.position = e.position + 1) \
               ORDER BY 1 LIMIT 1) \
             ORDER BY 1 LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        if let Some((p,)) = missing {
            out.valid = false;
            out.first_missing_position = Some(p as u64);
        }
        Ok(out)
    }
}

fn finish(out: &mut LogVerification, report: StreamVerification) {
    out.streams += 1;
    out.events += report.events;
    if !report.valid {
        out.valid = false;
        out.broken.push(report);
    }
}
