//! Subscriptions: tail the global log from a position.
//!
//! Correctness rests on the appender's guarantee that the visible log is
//! always a gapless prefix, so "read everything after `last`" never misses a
//! late commit. NOTIFY only shortens the wait: a subscriber also polls, so a
//! notification lost while the LISTEN connection reconnects costs at most one
//! poll interval, never an event.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tracing::{error, warn};

use super::{NOTIFY_CHANNEL, PgEventStore};
use crate::{EventStore, EventStream};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One LISTEN connection per store; publishes the newest notified position.
pub(crate) fn spawn_listener(pool: PgPool) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let listener = async {
                let mut l = PgListener::connect_with(&pool).await?;
                l.listen(NOTIFY_CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            let mut listener = tokio::select! {
                l = listener => match l {
                    Ok(l) => l,
                    Err(e) => {
                        warn!(error = %e, "LISTEN connection failed; subscribers fall back to polling");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = tx.closed() => return,
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
                _ = tx.closed() => return,
            };
            backoff = Duration::from_millis(100);
            // Anything committed while we were not listening: wake everyone.
            tx.send_modify(|_| {});
            loop {
                tokio::select! {
                    n = listener.try_recv() => match n {
                        Ok(Some(n)) => {
                            if let Ok(p) = n.payload().parse::<u64>() {
                                tx.send_if_modified(|v| if p > *v { *v = p; true } else { false });
                            }
                        }
                        // The connection dropped and was re-established:
                        // notifications may have been missed.
                        Ok(None) => tx.send_modify(|_| {}),
                        Err(e) => {
                            warn!(error = %e, "LISTEN connection lost");
                            break;
                        }
                    },
                    _ = tx.closed() => return,
                }
            }
        }
    });
    rx
}

/// A notification source that never fires (LISTEN disabled). The sender is
/// leaked on purpose so `changed()` waits forever instead of erroring.
pub(crate) fn never_notified() -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    std::mem::forget(tx);
    rx
}

pub(crate) fn subscription(store: PgEventStore, after: u64) -> EventStream {
    let (tx, rx) = mpsc::channel(store.inner.config.subscription_buffer.max(1));
    tokio::spawn(tail(store, after, tx));
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

async fn tail(
    store: PgEventStore,
    mut last: u64,
    tx: mpsc::Sender<crate::Result<crate::RecordedEvent>>,
) {
    let mut notified = store.inner.notified.clone();
    let page = store.inner.config.read_page.max(1);
    let poll = store.inner.config.poll_interval;
    let mut backoff = Duration::from_millis(100);
    loop {
        // Mark the current notification as seen *before* reading, so one that
        // arrives while we read wakes the wait below instead of being lost.
        notified.borrow_and_update();
        match store.read_all(last, page).await {
            Ok(events) => {
                backoff = Duration::from_millis(100);
                let n = events.len();
                for e in events {
                    if e.position <= last {
                        continue;
                    }
                    if e.position != last + 1 {
                        // Cannot happen with the locked appender; if it does,
                        // someone wrote to the table behind the store's back.
                        error!(
                            expected = last + 1,
                            got = e.position,
                            "gap in the event log"
                        );
                    }
                    last = e.position;
                    if tx.send(Ok(e)).await.is_err() {
                        return;
                    }
                }
                if n > 0 {
                    continue;
                }
                tokio::select! {
                    _ = notified.changed() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = tx.closed() => return,
                }
            }
            Err(e) => {
                warn!(error = %e, after = last, "subscription read failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = tx.closed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
