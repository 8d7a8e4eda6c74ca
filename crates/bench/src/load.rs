//! Client-side load helpers shared by the benchmarks that drive a server
//! over HTTP and WebSocket: a clock of send and receive times per message,
//! the text that carries a message's sequence number, and an open-loop pacer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::report::Summary;

/// Marks a bench message's sequence number inside its text: `bench#{seq}#`.
pub const MARK: &str = "bench#";

/// A bench message's text: its sequence number, then filler.
pub fn text(seq: usize) -> String {
    format!("{MARK}{seq}# the quick brown fox jumps over the lazy dog")
}

/// A bench message's text that also names its sender, so the sender's own
/// sockets do not count it as delivered.
pub fn text_from(seq: usize, sender: usize) -> String {
    format!("{MARK}{seq}#{sender}# the quick brown fox jumps over the lazy dog")
}

/// Send and last-receive times (ns since `origin`) per message sequence.
pub struct Clock {
    origin: Instant,
    sent: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
    last: Vec<AtomicU64>,
    got: Vec<AtomicU32>,
}

impl Clock {
    pub fn new(n: usize) -> Clock {
        Clock {
            origin: Instant::now(),
            sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            acked: (0..n).map(|_| AtomicU64::new(0)).collect(),
            last: (0..n).map(|_| AtomicU64::new(0)).collect(),
            got: (0..n).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    pub fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    pub fn mark_sent(&self, seq: usize) {
        self.sent[seq].store(self.now(), Ordering::Relaxed);
    }

    pub fn mark_acked(&self, seq: usize) {
        self.acked[seq].store(self.now(), Ordering::Relaxed);
    }

    /// The HTTP answer's latency (send → 2xx) of each message in `range`.
    pub fn acks(&self, range: std::ops::Range<usize>) -> Summary {
        let lat = range
            .filter_map(|s| {
                let (a, b) = (
                    self.sent[s].load(Ordering::Relaxed),
                    self.acked[s].load(Ordering::Relaxed),
                );
                (b > 0).then(|| Duration::from_nanos(b.saturating_sub(a)))
            })
            .collect();
        Summary::from_latencies(lat, Duration::from_secs(1))
    }

    /// A socket received a frame: if it carries a bench message, record it.
    pub fn received(&self, text: &str) {
        self.received_by(text, None);
    }

    /// Like [`Clock::received`], for the socket of user `me`: a message
    /// that user sent (`text_from`) is not a delivery and is ignored.
    pub fn received_by(&self, text: &str, me: Option<usize>) {
        let Some(at) = text.find(MARK) else { return };
        let rest = &text[at + MARK.len()..];
        let Some(end) = rest.find('#') else { return };
        let Ok(seq) = rest[..end].parse::<usize>() else {
            return;
        };
        let sender = rest[end + 1..]
            .split_once('#')
            .and_then(|(s, _)| s.parse::<usize>().ok());
        if me.is_some() && sender == me {
            return;
        }
        if seq < self.last.len() {
            self.last[seq].fetch_max(self.now(), Ordering::Relaxed);
            self.got[seq].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn complete(&self, range: std::ops::Range<usize>, expected: u32) -> usize {
        range
            .filter(|&s| self.got[s].load(Ordering::Relaxed) >= expected)
            .count()
    }

    /// Wait until every message in `range` reached `expected` sockets (or
    /// `patience` passes with no progress).
    pub async fn settle(&self, range: std::ops::Range<usize>, expected: u32, patience: Duration) {
        let mut seen = 0;
        let mut since = Instant::now();
        loop {
            let done = self.complete(range.clone(), expected);
            if done == range.len() {
                return;
            }
            if done != seen {
                seen = done;
                since = Instant::now();
            } else if since.elapsed() > patience {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Send → last receiver latencies of the complete messages, and the
    /// span from the first send to the last receive.
    pub fn latencies(
        &self,
        range: std::ops::Range<usize>,
        expected: u32,
    ) -> (Vec<Duration>, Duration, usize) {
        let (mut lat, mut first, mut end, mut lost) = (Vec::new(), u64::MAX, 0, 0);
        for s in range {
            let sent = self.sent[s].load(Ordering::Relaxed);
            first = first.min(sent);
            if self.got[s].load(Ordering::Relaxed) >= expected {
                let last = self.last[s].load(Ordering::Relaxed);
                end = end.max(last);
                lat.push(Duration::from_nanos(last.saturating_sub(sent)));
            } else {
                lost += 1;
            }
        }
        (lat, Duration::from_nanos(end.saturating_sub(first)), lost)
    }
}

/// Send `count` messages at `rate`/s, open loop (each send its own task,
/// at most `in_flight` at once); `target(i)` picks the chat and token.
pub async fn paced<F>(
    rate: u32,
    count: usize,
    in_flight: usize,
    first_seq: usize,
    clock: &Arc<Clock>,
    send: F,
) -> anyhow::Result<()>
where
    F: Fn(usize) -> futures::future::BoxFuture<'static, anyhow::Result<()>>,
{
    let gate = Arc::new(Semaphore::new(in_flight));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        tick.tick().await;
        let permit = gate.clone().acquire_owned().await?;
        let seq = first_seq + i;
        clock.mark_sent(seq);
        let fut = send(seq);
        let clock = clock.clone();
        tasks.push(tokio::spawn(async move {
            let r = fut.await;
            clock.mark_acked(seq);
            drop(permit);
            r
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
