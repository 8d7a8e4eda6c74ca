//! Per-user limits on queries, kept by each node for its own pool: a token
//! bucket (how many queries a second) and a cap on queries in flight (how
//! many connections and `min_position` waits one user may hold at once).
//! One user's burst of searches or deep pages answers 429 `rate_limited`
//! to them instead of slowing everyone's history and chat list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use tokio::time::Instant;
use uuid::Uuid;

use crate::QueryState;

/// Defaults: 20 queries a second with a burst of 60, 8 in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryLimitConfig {
    pub per_second: f64,
    pub burst: u32,
    pub in_flight: usize,
}

impl Default for QueryLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 20.0,
            burst: 60,
            in_flight: 8,
        }
    }
}

/// Buckets of users idle long enough to be full are forgotten past this
/// many entries, so the map follows active users, not all users ever.
const PRUNE_ABOVE: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
    in_flight: usize,
}

#[derive(Clone)]
pub struct QueryLimits {
    config: QueryLimitConfig,
    users: Arc<Mutex<HashMap<Uuid, Bucket>>>,
}

/// A query in flight; dropping it frees the user's slot.
pub struct Permit {
    limits: QueryLimits,
    user: Uuid,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut users = self.limits.lock();
        if let Some(b) = users.get_mut(&self.user) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }
}

impl QueryLimits {
    pub fn new(config: QueryLimitConfig) -> Self {
        Self {
            config,
            users: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Bucket>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit one query of `user`, or answer how many seconds to wait.
    pub fn admit(&self, user: Uuid) -> Result<Permit, u64> {
        let now = Instant::now();
        let rate = self.config.per_second.max(1e-6);
        let burst = f64::from(self.config.burst.max(1));
        let mut users = self.lock();
        if users.len() > PRUNE_ABOVE {
            users.retain(|_, b| {
                b.in_flight > 0 || b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = users.entry(user).or_insert(Bucket {
            tokens: burst,
            at: now,
            in_flight: 0,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.in_flight >= self.config.in_flight.max(1) {
            return Err(1);
        }
        if b.tokens < 1.0 {
            return Err(((1.0 - b.tokens) / rate).ceil().clamp(1.0, 3600.0) as u64);
        }
        b.tokens -= 1.0;
        b.in_flight += 1;
        Ok(Permit {
            limits: self.clone(),
            user,
        })
    }
}

/// The middleware: verify the caller once (the handlers find the principal
/// in the request), then admit the query or answer 429.
pub async fn per_user(State(s): State<QueryState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let who = match AuthUser::from_request_parts(&mut parts, &s).await {
        Ok(AuthUser(who)) => who,
        Err(e) => return e.into_response(),
    };
    let permit = match s.limits.admit(who.user_id) {
        Ok(p) => p,
        Err(retry_after) => return ApiError::too_many_queries(retry_after).into_response(),
    };
    parts.extensions.insert(who);
    let response = next.run(Request::from_parts(parts, body)).await;
    drop(permit);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_the_burst_then_waits_and_at_most_in_flight_at_once() {
        let limits = QueryLimits::new(QueryLimitConfig {
            per_second: 1.0,
            burst: 3,
            in_flight: 2,
        });
        let (u, other) = (Uuid::now_v7(), Uuid::now_v7());
        let a = limits.admit(u).expect("first");
        let _b = limits.admit(u).expect("second");
        assert_eq!(limits.admit(u).err(), Some(1), "two in flight");
        drop(a);
        let _c = limits.admit(u).expect("a slot came free");
        assert!(limits.admit(u).is_err(), "the burst is spent");
        assert!(limits.admit(other).is_ok(), "others are not affected");
    }
}
