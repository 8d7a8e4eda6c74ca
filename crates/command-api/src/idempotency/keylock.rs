//! In-process serialization of requests that share an `(actor, key)`.
//!
//! Duplicates arriving at the same node wait here, on a tokio mutex, instead of
//! each holding a pooled Postgres connection while blocked on the advisory
//! lock. Across nodes the advisory lock still does the serializing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

type Slot = Arc<tokio::sync::Mutex<()>>;
type Map = HashMap<(Uuid, String), Slot>;

/// One mutex per `(actor, key)` currently in use; entries go away with their
/// last user, so the map only holds keys in flight.
#[derive(Debug, Default)]
pub(super) struct KeyLocks {
    slots: Mutex<Map>,
}

/// Held while a request owns its key on this node.
pub(super) struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: (Uuid, String),
    slot: Slot,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyLocks {
    fn map(&self) -> MutexGuard<'_, Map> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) async fn acquire(&self, actor: Uuid, key: &str) -> KeyGuard<'_> {
        let key = (actor, key.to_owned());
        let slot = self.map().entry(key.clone()).or_default().clone();
        // Built before waiting so a cancelled wait still cleans up its entry.
        let mut held = KeyGuard {
            locks: self,
            key,
            slot,
            guard: None,
        };
        held.guard = Some(held.slot.clone().lock_owned().await);
        held
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.locks.map();
        // The map's reference and ours: nobody else is waiting for this key.
        if Arc::strong_count(&self.slot) <= 2 {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_disappear_with_their_last_holder() {
        let locks = KeyLocks::default();
        let actor = Uuid::new_v4();
        {
            let _a = locks.acquire(actor, "k").await;
            let _b = locks.acquire(actor, "other").await;
            assert_eq!(locks.len(), 2);
        }
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_second_holder_waits_for_the_first() {
        let locks = KeyLocks::default();
        let actor = Uuid::new_v4();
        let first = locks.acquire(actor, "k").await;
        let second = locks.acquire(actor, "k");
        tokio::pin!(second);
        assert!(futures::poll!(second.as_mut()).is_pending());
        drop(first);
        let _second = second.await;
        assert_eq!(locks.len(), 1);
    }
}
