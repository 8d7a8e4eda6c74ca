//! In-process token buckets for a single node.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::{Clock, Decision, Rule};

/// Sweep full buckets at least this often (when checks come in).
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// ...and whenever the map has doubled since the last sweep, past this size.
const MIN_SWEEP_LEN: usize = 10_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
    /// When the bucket is full again; a full bucket is the same as none.
    full_at: Instant,
}

struct State {
    buckets: HashMap<String, Bucket>,
    last_sweep: Instant,
    sweep_at_len: usize,
}

/// Buckets in a mutex-guarded map. Buckets that have refilled completely
/// are dropped by an opportunistic sweep, so memory is bounded by the keys
/// active within one refill period.
pub(super) struct LocalBuckets {
    clock: Clock,
    state: Mutex<State>,
}

impl LocalBuckets {
    pub(super) fn new(clock: Clock) -> Self {
        let now = clock();
        Self {
            clock,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                last_sweep: now,
                sweep_at_len: MIN_SWEEP_LEN,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn take(&self, key: &str, rule: &Rule) -> Decision {
        let now = (self.clock)();
        let (rate, burst) = rule.rate_and_burst();
        let mut state = self.state();
        if now.saturating_duration_since(state.last_sweep) >= SWEEP_EVERY
            || state.buckets.len() >= state.sweep_at_len
        {
            state.buckets.retain(|_, b| b.full_at > now);
            state.last_sweep = now;
            state.sweep_at_len = (state.buckets.len() * 2).max(MIN_SWEEP_LEN);
        }

        if !state.buckets.contains_key(key) {
            let fresh = Bucket {
                tokens: burst,
                updated: now,
                full_at: now,
            };
            state.buckets.insert(key.to_owned(), fresh);
        }
        let Some(bucket) = state.buckets.get_mut(key) else {
            return Decision::Allow;
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        let decision = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Decision::Allow
        } else {
            let secs = ((1.0 - bucket.tokens) / rate).min(super::MAX_WAIT_SECS);
            Decision::Wait(Duration::from_secs_f64(secs))
        };
        let to_full = Duration::from_secs_f64(rule.secs_to_full(bucket.tokens));
        bucket.full_at = now.checked_add(to_full).unwrap_or(now);
        decision
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn manual_clock() -> (Clock, Arc<Mutex<Duration>>) {
        let start = Instant::now();
        let offset = Arc::new(Mutex::new(Duration::ZERO));
        let o = offset.clone();
        (Arc::new(move || start + *o.lock().unwrap()), offset)
    }

    #[test]
    fn full_buckets_are_swept_away() {
        let (clock, offset) = manual_clock();
        let buckets = LocalBuckets::new(clock);
        let rule = Rule::new(1.0, 2);
        for i in 0..100 {
            assert_eq!(buckets.take(&format!("k{i}"), &rule), Decision::Allow);
        }
        assert_eq!(buckets.len(), 100);
        *offset.lock().unwrap() = SWEEP_EVERY;
        assert_eq!(buckets.take("fresh", &rule), Decision::Allow);
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn the_wait_is_the_time_to_the_next_token() {
        let (clock, offset) = manual_clock();
        let buckets = LocalBuckets::new(clock);
        let rule = Rule::new(4.0, 1);
        assert_eq!(buckets.take("k", &rule), Decision::Allow);
        assert_eq!(
            buckets.take("k", &rule),
            Decision::Wait(Duration::from_millis(250))
        );
        *offset.lock().unwrap() = Duration::from_millis(250);
        assert_eq!(buckets.take("k", &rule), Decision::Allow);
    }
}
