//! The process's one reader of the log (design.md, hard problem 12).
//!
//! Every subscription of a [`super::PgEventStore`] (the projection runners,
//! the gateway, the Kafka publisher) is served from one tail per store,
//! fanned out in memory, instead of each polling the `events` table:
//!
//! * events this process appended arrive from the appender right after
//!   their commit ([`super::append::Committed`]), with no read at all;
//! * events other processes appended are read once, when their NOTIFY (or
//!   the poll timer) says the log grew; a local commit that lands after
//!   someone else's first reads the positions in between, so the tail never
//!   publishes out of order or with a hole (positions are gapless and
//!   become visible in order; see [`super::append`]);
//! * each event is published once, as an `Arc`, on a bounded broadcast
//!   channel. A subscriber that falls more than its capacity behind is not
//!   waited for: it notices (`Lagged`), reads what it missed from the store
//!   and rejoins ([`super::subscribe`]). So a slow consumer never stalls the
//!   others, and each still sees every event once, in order.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tracing::warn;

use super::append::Committed;
use super::{Inner, PgEventStore};
use crate::{EventStore, RecordedEvent};

/// Events kept for subscribers that are a little behind; one further
/// behind reads from the store instead.
pub(crate) const CAPACITY: usize = 8_192;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The published side of the tail, shared by every subscription.
pub(crate) struct Fanout {
    pub events: broadcast::Sender<Arc<RecordedEvent>>,
    /// The newest position published; `None` until the tail has started.
    pub published: watch::Receiver<Option<u64>>,
}

/// The tail's inputs and outputs.
pub(crate) struct Tail {
    pub store: Weak<Inner>,
    pub committed: broadcast::Receiver<Committed>,
    pub notified: watch::Receiver<u64>,
    pub events: broadcast::Sender<Arc<RecordedEvent>>,
    pub published: watch::Sender<Option<u64>>,
    pub poll: Duration,
    pub page: usize,
}

/// A fresh fanout and the tail that feeds it.
pub(crate) fn channels() -> (
    broadcast::Sender<Arc<RecordedEvent>>,
    watch::Sender<Option<u64>>,
    Fanout,
) {
    let (events, _) = broadcast::channel(CAPACITY);
    let (published, published_rx) = watch::channel(None);
    let fanout = Fanout {
        events: events.clone(),
        published: published_rx,
    };
    (events, published, fanout)
}

impl Tail {
    fn store(&self) -> Option<PgEventStore> {
        self.store.upgrade().map(|inner| PgEventStore { inner })
    }

    fn publish(&mut self, last: &mut u64, event: RecordedEvent) {
        *last = event.position;
        // The position first: a subscriber that reads it after subscribing
        // gets this event from the channel too (and skips the duplicate);
        // one that subscribes later finds it in the store.
        self.published.send_replace(Some(*last));
        let _ = self.events.send(Arc::new(event));
    }

    /// Read and publish what the store has after `last`. False if a read
    /// failed (the next wake-up or poll tries again).
    async fn catch_up(&mut self, last: &mut u64) -> bool {
        loop {
            let Some(store) = self.store() else {
                return false;
            };
            match store.read_all(*last, self.page).await {
                Ok(events) => {
                    let (n, before) = (events.len(), *last);
                    for e in events {
                        if e.position == *last + 1 {
                            self.publish(last, e);
                        }
                    }
                    if n < self.page {
                        return true;
                    }
                    if *last == before {
                        // Cannot happen with the locked appender: someone
                        // wrote to the table behind the store's back.
                        warn!(after = before, "gap in the event log");
                        return false;
                    }
                }
                Err(e) => {
                    warn!(error = %e, after = *last, "the log tail could not read; retrying");
                    return false;
                }
            }
        }
    }

    /// Publish a batch this process committed, reading first whatever
    /// others committed before it.
    async fn committed(&mut self, last: &mut u64, batch: &[RecordedEvent]) {
        let Some(first) = batch.first().map(|e| e.position) else {
            return;
        };
        if first > *last + 1 {
            // Others committed before this batch: publish theirs first. If
            // that read fails, the batch waits for the next read too.
            let read = self.catch_up(last).await;
            if !read || first > *last + 1 {
                return;
            }
        }
        for e in batch {
            if e.position == *last + 1 {
                self.publish(last, e.clone());
            }
        }
    }

    pub(crate) async fn run(mut self) {
        let mut backoff = Duration::from_millis(100);
        // Start at the head: a subscription from further back reads the
        // store until it reaches what the tail has published.
        let mut last = loop {
            let Some(store) = self.store() else { return };
            match store.head_position().await {
                Ok(head) => break head,
                Err(e) => {
                    warn!(error = %e, "the log tail cannot read the head; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        self.published.send_replace(Some(last));
        let mut listening = true;
        loop {
            // Seen before reading: a notification during the read wakes us.
            self.notified.borrow_and_update();
            tokio::select! {
                biased;
                batch = self.committed.recv() => match batch {
                    Ok(batch) => self.committed(&mut last, &batch).await,
                    Err(RecvError::Lagged(_)) => {
                        self.catch_up(&mut last).await;
                    }
                    // The appender stopped: every handle of the store is gone.
                    Err(RecvError::Closed) => return,
                },
                changed = self.notified.changed(), if listening => match changed {
                    Ok(()) => {
                        if *self.notified.borrow() > last {
                            self.catch_up(&mut last).await;
                        }
                    }
                    Err(_) => listening = false,
                },
                _ = tokio::time::sleep(self.poll) => {
                    self.catch_up(&mut last).await;
                }
            }
        }
    }
}
