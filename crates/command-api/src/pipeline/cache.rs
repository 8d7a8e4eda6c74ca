//! The aggregate cache: folded states *with the stream version they
//! reflect*, so a send into a chat with a million past events costs the same
//! as into a new one once the chat is warm.
//!
//! The cache follows the log ([`super::follow`]): an entry a newer event
//! touched is forgotten, so while the follower runs a hit is as current as
//! the log this process has seen, and a command takes it as it is. Without
//! the follower, a load asks the store for events after the cached version.
//! Either way the append's expected version is what makes a decision safe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chat_domain::{Aggregate, Chat, StreamKind, User, parse_stream};
use chat_store::typed::Loaded;

use super::follow::Follow;

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

    /// Forget `stream` unless its entry already includes `version`.
    fn forget_older(&self, stream: &str, version: u64) {
        let mut inner = self.lock();
        if inner
            .entries
            .get(stream)
            .is_some_and(|(l, _)| l.version < version)
        {
            inner.entries.remove(stream);
        }
    }

    fn clear(&self) {
        self.lock().entries.clear();
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
    follow: Follow,
}

impl AggregateCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            chats: Cache::new(capacity),
            users: Cache::new(capacity),
            locks: Mutex::new(HashMap::new()),
            follow: Follow::default(),
        }
    }

    pub(crate) fn follow(&self) -> &Follow {
        &self.follow
    }

    /// An entry that is current as far as this process has seen the log;
    /// `None` when absent or when the cache is not following the log.
    pub fn current<A: Cached>(&self, stream: &str) -> Option<Loaded<A>> {
        if !self.follow.live() {
            return None;
        }
        A::cache(self).get(stream)
    }

    /// The follower's position, to name in [`AggregateCache::put_since`].
    pub fn seen(&self) -> u64 {
        self.follow.seen()
    }

    /// Keep `loaded`, read (or appended) after the follower had seen
    /// `since`, unless a newer version of its stream has passed since.
    pub fn put_since<A: Cached>(&self, stream: &str, loaded: Loaded<A>, since: u64) {
        let recent = self.follow.recent();
        if !self.follow.live() || recent.admits(stream, loaded.version, since) {
            A::cache(self).put(stream, loaded);
        }
    }

    /// Forget every entry older than `version` of `stream`.
    pub(crate) fn forget_older(&self, stream: &str, version: u64) {
        match parse_stream(stream) {
            Some((StreamKind::Chat, _)) => self.chats.forget_older(stream, version),
            Some((StreamKind::User, _)) => self.users.forget_older(stream, version),
            None => {}
        }
    }

    pub(crate) fn clear(&self) {
        self.chats.clear();
        self.users.clear();
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
    /// 2: members carry a delivery marker.
    const SNAPSHOT_SCHEMA: i32 = 2;
    fn cache(c: &AggregateCache) -> &Cache<Self> {
        &c.chats
    }
}

impl Cached for User {
    /// 2: the user's chosen status.
    const SNAPSHOT_SCHEMA: i32 = 2;
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
