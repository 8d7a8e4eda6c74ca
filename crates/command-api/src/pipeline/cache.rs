//! The aggregate cache: an optimisation, never the truth.
//!
//! A cached entry is a folded state *with the stream version it reflects*.
//! Every load still asks the store for events after that version (one indexed
//! read that is usually empty), so a stale entry (another node appended) is
//! caught up, never trusted. That is what makes a send into a chat with a
//! million past events cost the same as into a new one once the chat is warm.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chat_domain::{Aggregate, Chat, User};
use chat_store::typed::Loaded;

/// A bounded map of stream → folded state, evicting the least recently used.
pub struct Cache<A> {
    capacity: usize,
    inner: Mutex<CacheInner<A>>,
}

struct CacheInner<A> {
    tick: u64,
    entries: HashMap<String, (Loaded<A>, u64)>,
}

impl<A: Aggregate> Cache<A> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(CacheInner {
                tick: 0,
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CacheInner<A>> {
        // A panic while holding this lock cannot leave a half-written entry
        // (every operation is a single map call), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, stream: &str) -> Option<Loaded<A>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        inner.entries.get_mut(stream).map(|(l, used)| {
            *used = tick;
            l.clone()
        })
    }

    /// Keep `loaded` unless a newer version is already cached.
    pub fn put(&self, stream: &str, loaded: Loaded<A>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((old, _)) = inner.entries.get(stream)
            && old.version > loaded.version
        {
            return;
        }
        inner.entries.insert(stream.to_owned(), (loaded, tick));
        if inner.entries.len() > self.capacity {
            evict(&mut inner.entries, self.capacity);
        }
    }

    pub fn forget(&self, stream: &str) {
        self.lock().entries.remove(stream);
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drop the least recently used tenth (at least one), so eviction's scan is
/// paid once per many inserts.
fn evict<A>(entries: &mut HashMap<String, (Loaded<A>, u64)>, capacity: usize) {
    let drop_n = (capacity / 10).max(1) + entries.len().saturating_sub(capacity + 1);
    let mut ticks: Vec<u64> = entries.values().map(|(_, t)| *t).collect();
    ticks.sort_unstable();
    let cutoff = ticks[drop_n.min(ticks.len()) - 1];
    entries.retain(|_, (_, t)| *t > cutoff);
}

/// One cache per aggregate type, plus the per-stream command locks.
pub struct AggregateCache {
    chats: Cache<Chat>,
    users: Cache<User>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AggregateCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            chats: Cache::new(capacity),
            users: Cache::new(capacity),
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The lock serializing this process's commands to `stream`. Locks no
    /// command holds are dropped as the map grows, keeping it bounded.
    pub fn stream_lock(&self, stream: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() > 4_096 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks
            .entry(stream.to_owned())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
            .clone()
    }
}

/// Aggregates that have a cache (and snapshots).
pub trait Cached: Aggregate + serde::Serialize + serde::de::DeserializeOwned + Unpin {
    /// Bump when the state's shape or its evolve logic changes, so older
    /// snapshots are ignored rather than trusted.
    const SNAPSHOT_SCHEMA: i32;
    fn cache(c: &AggregateCache) -> &Cache<Self>;
}

impl Cached for Chat {
    const SNAPSHOT_SCHEMA: i32 = 1;
    fn cache(c: &AggregateCache) -> &Cache<Self> {
        &c.chats
    }
}

impl Cached for User {
    const SNAPSHOT_SCHEMA: i32 = 1;
    fn cache(c: &AggregateCache) -> &Cache<Self> {
        &c.users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u64) -> Loaded<Chat> {
        Loaded {
            state: Chat::default(),
            version,
            position: version,
        }
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let c = Cache::<Chat>::new(10);
        c.put("chat-a", at(5));
        c.put("chat-a", at(3));
        assert_eq!(c.get("chat-a").map(|l| l.version), Some(5));
    }

    #[test]
    fn the_least_recently_used_entries_are_evicted_first() {
        let c = Cache::<Chat>::new(10);
        for i in 0..10 {
            c.put(&format!("chat-{i}"), at(1));
        }
        assert!(c.get("chat-0").is_some());
        c.put("chat-10", at(1));
        assert!(c.len() <= 10);
        assert!(c.get("chat-0").is_some(), "recently read entry survives");
        assert!(c.get("chat-1").is_none(), "least recently used is gone");
    }
}
