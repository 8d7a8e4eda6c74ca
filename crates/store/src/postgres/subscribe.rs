//! Subscriptions: the global log from a position, catch-up then live.
//!
//! Correctness rests on the appender's guarantee that the visible log is
//! always a gapless prefix, so "read everything after `last`" never misses a
//! late commit. A subscription reads the store until it reaches what the
//! process's one tail ([`super::tail`]) has published, then takes the tail's
//! events. NOTIFY only wakes the tail, which also polls, so a notification
//! lost while the LISTEN connection reconnects costs at most one poll
//! interval, never an event.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tracing::warn;
use uuid::Uuid;

use super::{NOTIFY_CHANNEL, PgEventStore};
use crate::{EventStore, EventStream, RecordedEvent};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One LISTEN connection per store; publishes the newest notified position.
pub(crate) fn spawn_listener(pool: PgPool, own: Uuid) -> watch::Receiver<u64> {
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
                            if let Some(p) = announced(n.payload(), own) {
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

/// The NOTIFY payload of an append: the new head, and the id of the store
/// that wrote it when that store publishes the events itself.
pub(crate) fn notification(head: u64, origin: Option<Uuid>) -> String {
    match origin {
        Some(o) => format!("{head} {o}"),
        None => head.to_string(),
    }
}

/// The head a notification announces, unless `own` wrote it (its tail has
/// the events already).
fn announced(payload: &str, own: Uuid) -> Option<u64> {
    let mut parts = payload.split(' ');
    let head = parts.next()?.parse().ok()?;
    match parts.next().map(str::parse::<Uuid>) {
        Some(Ok(origin)) if origin == own => None,
        _ => Some(head),
    }
}

pub(crate) fn subscription(store: PgEventStore, after: u64) -> EventStream {
    let (tx, rx) = mpsc::channel(store.inner.config.subscription_buffer.max(1));
    tokio::spawn(follow(store, after, tx));
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// One subscriber: read the store up to what the tail has published, then
/// take the tail's events; on falling behind it (or any hole), read again.
async fn follow(
    store: PgEventStore,
    mut last: u64,
    tx: mpsc::Sender<crate::Result<crate::RecordedEvent>>,
) {
    let page = store.inner.config.read_page.max(1);
    let mut backoff = Duration::from_millis(100);
    loop {
        // Subscribed before the published position is read, so everything
        // published after that position arrives on `rx`.
        let mut rx = store.inner.fanout.events.subscribe();
        let mut published = store.inner.fanout.published.clone();
        let target = loop {
            if let Some(p) = *published.borrow_and_update() {
                break p;
            }
            tokio::select! {
                changed = published.changed() => if changed.is_err() { return },
                _ = tx.closed() => return,
            }
        };
        while last < target {
            let limit = page.min(usize::try_from(target - last).unwrap_or(page));
            match store.read_all(last, limit).await {
                Ok(events) if events.is_empty() => break,
                Ok(events) => {
                    backoff = Duration::from_millis(100);
                    for e in events {
                        if e.position <= last {
                            continue;
                        }
                        last = e.position;
                        if tx.send(Ok(e)).await.is_err() {
                            return;
                        }
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
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                _ = tx.closed() => return,
            };
            match next {
                Ok(e) if e.position <= last => {}
                Ok(e) if e.position == last + 1 => {
                    last = e.position;
                    if tx.send(Ok(RecordedEvent::clone(&e))).await.is_err() {
                        return;
                    }
                }
                // Fell behind the tail (or a hole): read what was missed.
                Ok(_) | Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_ignores_its_own_notifications_only() {
        let (own, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(announced(&notification(7, Some(own)), own), None);
        assert_eq!(announced(&notification(7, Some(other)), own), Some(7));
        assert_eq!(announced(&notification(7, None), own), Some(7));
        assert_eq!(announced("x", own), None);
    }
}
