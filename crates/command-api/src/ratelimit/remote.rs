//! Token buckets in Redis, shared by every node.

use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Decision, OnOutage, Rule};

/// Refill from the time elapsed since the last check (Redis' own clock, so
/// nodes with skewed clocks agree), take one token or compute the wait, and
/// expire the key once the bucket would be full again (a missing key is a
/// full bucket). Returns `{allowed, wait_ms}`.
///
/// KEYS[1] the bucket; ARGV[1] tokens per second; ARGV[2] burst.
const TAKE: &str = r"
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
else
  now = ts
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {allowed, wait}
";

/// Longest a check waits for Redis before letting the request through.
const CALL_BUDGET: Duration = Duration::from_millis(250);
/// After a failure, skip Redis for this long (requests pass at once) instead
/// of making every request wait for a reconnect.
pub(super) const COOL_OFF: Duration = Duration::from_secs(2);
/// Warn about a failing Redis at most this often.
const WARN_EVERY: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Health {
    skip_until: Option<std::time::Instant>,
    last_warning: Option<std::time::Instant>,
}

pub(super) struct RedisBuckets {
    conn: ConnectionManager,
    script: redis::Script,
    health: Mutex<Health>,
}

impl RedisBuckets {
    pub(super) async fn connect(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        // Short timeouts: a slow Redis must not hold requests up (we fail
        // open). The backoff's factor is its growth per attempt (the default,
        // 100, means waits of a minute), so keep it and the delay small.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_millis(500))
            .set_factor(2)
            .set_max_delay(1_000)
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            conn,
            script: redis::Script::new(TAKE),
            health: Mutex::new(Health::default()),
        })
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails open (or, for auth, closed): if Redis cannot answer within [`CALL_BUDGET`], the request
    /// is allowed, and so is every request for the [`COOL_OFF`] after that.
    pub(super) async fn take(&self, bucket: &str, rule: &Rule, outage: OnOutage) -> Decision {
        let now = std::time::Instant::now();
        if self.health().skip_until.is_some_and(|until| now < until) {
            return outage_decision(outage);
        }
        let (rate, burst) = rule.rate_and_burst();
        let mut conn = self.conn.clone();
        let mut call = self.script.key(format!("rl:{bucket}"));
        call.arg(rate).arg(burst);
        let answer = tokio::time::timeout(CALL_BUDGET, call.invoke_async::<(i64, i64)>(&mut conn));
        match answer.await {
            Ok(Ok((1, _))) => Decision::Allow,
            Ok(Ok((_, wait_ms))) => {
                let wait_ms = u64::try_from(wait_ms).unwrap_or(0);
                Decision::Wait(Duration::from_millis(wait_ms))
            }
            Ok(Err(e)) => self.outage(&e, outage),
            Err(elapsed) => self.outage(&elapsed, outage),
        }
    }

    fn outage(&self, e: &dyn std::fmt::Display, outage: OnOutage) -> Decision {
        let now = std::time::Instant::now();
        let mut health = self.health();
        health.skip_until = now.checked_add(COOL_OFF);
        if health
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
        {
            health.last_warning = Some(now);
            tracing::warn!(error = %e, "rate limiter cannot reach Redis; allowing requests, refusing auth");
        }
        outage_decision(outage)
    }
}

fn outage_decision(outage: OnOutage) -> Decision {
    match outage {
        OnOutage::Allow => Decision::Allow,
        OnOutage::Refuse => Decision::Unavailable,
    }
}
