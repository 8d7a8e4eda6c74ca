//! Latency summaries and the printed table.

use std::time::Duration;

/// Throughput and latency of one measured run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub ops: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn from_latencies(mut lat: Vec<Duration>, elapsed: Duration) -> Summary {
        lat.sort_unstable();
        let pick = |q: f64| {
            if lat.is_empty() {
                Duration::ZERO
            } else {
                lat[((lat.len() - 1) as f64 * q).round() as usize]
            }
        };
        Summary {
            ops: lat.len(),
            elapsed,
            p50: pick(0.50),
            p99: pick(0.99),
            max: lat.last().copied().unwrap_or_default(),
        }
    }

    pub fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}
