//! The aggregate cache follows the log, so that a cached state can be
//! trusted as a fact, not only as a starting point.
//!
//! A task subscribes to the event store from its head. For every event it
//! sees, a cached entry of that stream older than the event is forgotten,
//! and the event's stream and version are remembered for a while. A cached
//! entry is then as fresh as the log this process has seen: staleness is
//! bounded by the tail's lag (milliseconds), which is no worse than a read
//! issued a moment earlier. That lets a command take another stream's state
//! (a peer's blocks) from the cache without reading the store.
//!
//! The one race is an entry read (or appended) while a newer event of its
//! stream passed the follower: putting it afterwards would resurrect a stale
//! state nothing would forget. So a put names the follower's position from
//! before its read, and is dropped if the follower has since seen a newer
//! version of the stream, or more events than it remembers. Observing an
//! event and putting an entry both hold the same lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chat_store::EventStore;
use futures::StreamExt;

use super::cache::AggregateCache;

/// Events remembered to check puts against.
const REMEMBERED: usize = 16_384;

#[derive(Default)]
pub(crate) struct Follow {
    live: AtomicBool,
    seen: AtomicU64,
    recent: Mutex<Recent>,
}

#[derive(Default)]
pub(crate) struct Recent {
    /// `(position, stream)`, oldest first.
    order: VecDeque<(u64, String)>,
    /// Stream → (newest version seen, its position).
    newest: HashMap<String, (u64, u64)>,
}

impl Recent {
    fn observe(&mut self, position: u64, stream: &str, version: u64) {
        self.order.push_back((position, stream.to_owned()));
        self.newest.insert(stream.to_owned(), (version, position));
        while self.order.len() > REMEMBERED {
            if let Some((p, s)) = self.order.pop_front()
                && self.newest.get(&s).is_some_and(|(_, at)| *at == p)
            {
                self.newest.remove(&s);
            }
        }
    }

    /// Whether a state of `stream` at `version`, read after the follower
    /// had seen `since`, is still current as far as the follower knows.
    pub(crate) fn admits(&self, stream: &str, version: u64, since: u64) -> bool {
        let covered = self.order.front().is_none_or(|(p, _)| *p <= since + 1);
        covered && self.newest.get(stream).is_none_or(|(v, _)| *v <= version)
    }
}

impl Follow {
    /// Whether cached entries are kept current (the follower is running).
    pub(crate) fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The position the follower has seen up to.
    pub(crate) fn seen(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    pub(crate) fn recent(&self) -> MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Follow `store` for good, keeping `cache` current; while the follower is
/// not running, cached entries are only a starting point again.
pub fn spawn(cache: Arc<AggregateCache>, store: Arc<dyn EventStore>) {
    tokio::spawn(async move {
        let follow = cache.follow();
        loop {
            let head = match store.head_position().await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "the aggregate cache cannot follow the log yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Entries put before now were never checked against the log.
            cache.clear();
            follow.seen.store(head, Ordering::Release);
            follow.live.store(true, Ordering::Release);
            let mut events = store.subscribe(head);
            while let Some(Ok(e)) = events.next().await {
                let mut recent = follow.recent();
                recent.observe(e.position, &e.stream, e.version);
                cache.forget_older(&e.stream, e.version);
                follow.seen.store(e.position, Ordering::Release);
            }
            follow.live.store(false, Ordering::Release);
            tracing::warn!("the aggregate cache stopped following the log; restarting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_is_refused_when_a_newer_version_passed_or_the_memory_ran_out() {
        let mut r = Recent::default();
        r.observe(10, "chat-a", 3);
        assert!(r.admits("chat-a", 3, 9));
        assert!(!r.admits("chat-a", 2, 9), "version 3 passed after the read");
        assert!(r.admits("chat-b", 1, 9));
        for p in 11..(11 + REMEMBERED as u64) {
            r.observe(p, "chat-c", p);
        }
        assert!(
            !r.admits("chat-b", 1, 9),
            "events since 9 are no longer all known"
        );
        assert!(r.admits("chat-b", 1, 11 + REMEMBERED as u64));
    }
}
