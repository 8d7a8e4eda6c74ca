//! Reading back what an append targeted: raw pages of a stream or of `$all`,
//! and the ids an append retried or raced with (idempotent appends).

use super::*;

impl KurrentEventStore {
    /// Raw events of `stream` from `options`; a missing stream reads as empty.
    pub(super) async fn read_raw(
        &self,
        stream: &str,
        options: &ReadStreamOptions,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let mut read = match self.inner.client.read_stream(stream, options).await {
            Ok(r) => r,
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(e) => return Err(remote(e)),
        };
        let mut out = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(e) = resolved.event {
                        out.push(e);
                    }
                }
                Ok(None) => return Ok(out),
                Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(remote(e)),
            }
        }
    }

    /// Up to `count` raw events of `stream` from 0-based `revision`, forward.
    pub(super) async fn read_revisions(
        &self,
        stream: &str,
        revision: u64,
        count: usize,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(revision))
            .forwards()
            .max_count(count);
        self.read_raw(stream, &options).await
    }

    /// The events at `first_revision ..` if they are exactly `events`, in
    /// order: where this append landed (`already_appended` as given). Some but
    /// not all of them: the ids were used by a different append. None: `None`.
    pub(super) async fn locate(
        &self,
        stream: &str,
        first_revision: u64,
        events: &[NewEvent],
        already_appended: bool,
    ) -> Result<Option<AppendResult>> {
        let found = self
            .read_revisions(stream, first_revision, events.len())
            .await?;
        let ids_match = found.len() == events.len()
            && found.iter().zip(events).all(|(f, e)| f.id == e.event_id);
        if ids_match {
            let (first, last) = (&found[0], &found[found.len() - 1]);
            return Ok(Some(AppendResult {
                stream: stream.to_owned(),
                first_version: first.revision + 1,
                last_version: last.revision + 1,
                first_position: first.position.commit,
                last_position: last.position.commit,
                already_appended,
            }));
        }
        if found
            .iter()
            .any(|f| events.iter().any(|e| e.event_id == f.id))
        {
            return Err(StoreError::IdempotencyMismatch);
        }
        Ok(None)
    }

    /// Every stored event of `stream` whose id is one of `events`' ids.
    pub(super) async fn scan_for_ids(
        &self,
        stream: &str,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>> {
        let page = self.inner.config.read_page.max(1);
        let mut revision = 0u64;
        let mut hits: Vec<kurrentdb::RecordedEvent> = Vec::new();
        loop {
            let batch = self.read_revisions(stream, revision, page).await?;
            let n = batch.len();
            for e in batch {
                revision = e.revision + 1;
                if events.iter().any(|x| x.event_id == e.id) {
                    hits.push(e);
                }
            }
            if n < page {
                break;
            }
        }
        if hits.is_empty() {
            return Ok(None);
        }
        let first = hits[0].revision;
        self.locate(stream, first, events, true).await
    }

    /// Turn a conflict into the original result when these events are the
    /// ones already stored at the expected revision.
    pub(super) async fn resolve_conflict(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        current: CurrentRevision,
    ) -> Result<AppendResult> {
        let found = match expected {
            ExpectedVersion::NoStream => self.locate(stream, 0, events, true).await?,
            ExpectedVersion::Exact(v) => self.locate(stream, v, events, true).await?,
            // The server refuses an `Any` append whose first id it knows but
            // whose other ids do not follow it: find where they are.
            ExpectedVersion::Any => self.scan_for_ids(stream, events).await?,
        };
        match found {
            Some(original) => Ok(original),
            None => Err(StoreError::WrongExpectedVersion {
                stream: stream.to_owned(),
                expected,
                actual: version_of(current),
            }),
        }
    }

    /// One page of `$all` (user streams only) from `from` (inclusive).
    pub(super) async fn read_all_page(
        &self,
        from: StreamPosition<Position>,
        direction: Direction,
        count: usize,
    ) -> Result<Vec<kurrentdb::RecordedEvent>> {
        let options = ReadAllOptions::default().position(from);
        let options = match direction {
            Direction::Forward => options.forwards(),
            Direction::Backward => options.backwards(),
        }
        .max_count(count)
        .filter(user_streams());
        let mut read = self.inner.client.read_all(&options).await.map_err(remote)?;
        let mut out = Vec::new();
        while let Some(resolved) = read.next().await.map_err(remote)? {
            if let Some(e) = resolved.event {
                out.push(e);
            }
        }
        Ok(out)
    }
}
