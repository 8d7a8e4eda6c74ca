//! The [`EventStore`] contract on KurrentDB, and the subscription tail.

use super::*;

#[async_trait]
impl EventStore for KurrentEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if !valid_stream(stream) || stream.starts_with('$') {
            return Err(StoreError::InvalidStream(stream.to_owned()));
        }
        let mut unique: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != events.len() {
            return Err(StoreError::IdempotencyMismatch);
        }
        // KurrentDB cannot check this inside the append: read first. A
        // concurrent creator of the same subject is caught by the expected
        // version the command side always passes.
        for e in events.iter().filter(|e| e.creates_subject) {
            let Some(subject) = e.subject else { continue };
            if let Some(first) = self.read_subject(stream, subject).await?.first() {
                return Err(StoreError::SubjectTaken {
                    stream: stream.to_owned(),
                    subject,
                    version: first.version,
                    position: first.position,
                });
            }
        }
        let state = match expected {
            ExpectedVersion::Any => StreamState::Any,
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => StreamState::NoStream,
            ExpectedVersion::Exact(v) => StreamState::StreamRevision(v - 1),
        };
        let data = events
            .iter()
            .map(Self::encode)
            .collect::<Result<Vec<_>>>()?;
        let options = AppendToStreamOptions::default().stream_state(state);
        match self
            .inner
            .client
            .append_to_stream(stream, &options, data)
            .await
        {
            Ok(written) => {
                // A deduplicated retry is answered without a position.
                let deduplicated = written.position == Position::start();
                let n = events.len() as u64;
                let first_revision = (written.next_expected_version + 1)
                    .checked_sub(n)
                    .ok_or(StoreError::IdempotencyMismatch)?;
                // Read the events back: their positions (the write reports
                // one position for the whole append) and a check that the
                // server stored (or had stored) exactly these ids there.
                self.locate(stream, first_revision, &events, deduplicated)
                    .await?
                    .ok_or(StoreError::IdempotencyMismatch)
            }
            Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                self.resolve_conflict(stream, expected, &events, current)
                    .await
            }
            Err(e) => Err(remote(e)),
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Revisions are i64 on the server; anything past that is "the end".
        let last_revision = i64::MAX as u64;
        let options = match direction {
            Direction::Forward => {
                let revision = from_version.saturating_sub(1);
                if revision > last_revision {
                    return Ok(Vec::new());
                }
                ReadStreamOptions::default()
                    .position(StreamPosition::Position(revision))
                    .forwards()
            }
            Direction::Backward => {
                if from_version == 0 {
                    return Ok(Vec::new());
                }
                let revision = from_version - 1;
                let from = if revision >= last_revision {
                    StreamPosition::End
                } else {
                    StreamPosition::Position(revision)
                };
                ReadStreamOptions::default().position(from).backwards()
            }
        }
        .max_count(limit);
        let raw = self.read_raw(stream, &options).await?;
        raw.iter().map(|e| self.decode(e)).collect()
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let page = limit.clamp(1, self.inner.config.read_page.max(1)) + 1;
        let mut cursor = after_position;
        let mut out = Vec::new();
        while out.len() < limit {
            // Reads from a position include the event at it: skip it.
            let batch = self
                .read_all_page(all_position(cursor), Direction::Forward, page)
                .await?;
            let n = batch.len();
            for e in &batch {
                if e.position.commit <= cursor {
                    continue;
                }
                cursor = e.position.commit;
                if is_system(e) {
                    continue;
                }
                out.push(self.decode(e)?);
                if out.len() == limit {
                    break;
                }
            }
            if n < page {
                break;
            }
        }
        Ok(out)
    }

    async fn read_subject(&self, stream: &str, subject: Uuid) -> Result<Vec<RecordedEvent>> {
        // No secondary index: scan the whole stream (see the module docs).
        let page = self.inner.config.read_page.max(1);
        let mut revision = 0u64;
        let mut out = Vec::new();
        loop {
            let batch = self.read_revisions(stream, revision, page).await?;
            let n = batch.len();
            for e in &batch {
                revision = e.revision + 1;
                let recorded = self.decode(e)?;
                if recorded.subject == Some(subject) {
                    out.push(recorded);
                }
            }
            if n < page {
                return Ok(out);
            }
        }
    }

    async fn stream_head(&self, stream: &str) -> Result<Option<StreamHead>> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::End)
            .backwards()
            .max_count(1);
        let raw = self.read_raw(stream, &options).await?;
        Ok(raw.first().map(|e| StreamHead {
            version: e.revision + 1,
            position: e.position.commit,
        }))
    }

    async fn head_position(&self) -> Result<u64> {
        let newest = self
            .read_all_page(StreamPosition::End, Direction::Backward, 1)
            .await?;
        Ok(newest
            .iter()
            .find(|e| !is_system(e))
            .map_or(0, |e| e.position.commit))
    }

    fn subscribe(&self, after_position: u64) -> EventStream {
        let (tx, rx) = mpsc::channel(self.inner.config.subscription_buffer.max(1));
        tokio::spawn(tail(self.clone(), after_position, tx));
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }
}

/// A catch-up subscription to `$all` after `last`, resubscribing from the
/// last delivered position after any failure (so nothing is skipped or
/// delivered twice), until the receiver is dropped.
async fn tail(store: KurrentEventStore, mut last: u64, tx: mpsc::Sender<Result<RecordedEvent>>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let options = SubscribeToAllOptions::default()
            .position(all_position(last))
            .filter(user_streams());
        let mut sub = store.inner.client.subscribe_to_all(&options).await;
        let failure = loop {
            let next = tokio::select! {
                next = sub.next() => next,
                _ = tx.closed() => return,
            };
            let resolved = match next {
                Ok(r) => r,
                Err(e) => break remote(e),
            };
            let Some(e) = resolved.event.as_ref() else {
                continue;
            };
            // A subscription from a position starts after it; the check
            // also guards a resubscription against redelivery.
            if e.position.commit <= last || is_system(e) {
                continue;
            }
            match store.decode(e) {
                Ok(recorded) => {
                    backoff = Duration::from_millis(100);
                    last = recorded.position;
                    if tx.send(Ok(recorded)).await.is_err() {
                        return;
                    }
                }
                // Like the Postgres store: an undecodable event stops the
                // tail at it (retried, logged) rather than being skipped.
                Err(e) => break e,
            }
        };
        warn!(error = %failure, after = last, "subscription failed; resubscribing");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
