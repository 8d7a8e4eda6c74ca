//! Counters of what push services answered, for `/status`-style reports
//! and the benchmark.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::send::Outcome;

pub static DELIVERED: AtomicU64 = AtomicU64::new(0);
pub static GONE: AtomicU64 = AtomicU64::new(0);
pub static RETRIED: AtomicU64 = AtomicU64::new(0);
pub static REFUSED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn count(outcome: &Outcome) {
    let counter = match outcome {
        Outcome::Delivered => &DELIVERED,
        Outcome::Gone => &GONE,
        Outcome::Retry(_) => &RETRIED,
        Outcome::Refused(_) => &REFUSED,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}
