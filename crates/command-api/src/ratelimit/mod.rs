//! Token-bucket rate limits: per-user message sends and a stricter per-IP
//! limit on the auth endpoints.
//!
//! With `REDIS_URL` set, buckets live in Redis (`rl:<bucket>` hashes, one
//! atomic Lua script per check, timed by Redis' own clock) so every node
//! shares them; otherwise they live in this process.

pub mod client_ip;
mod local;
mod remote;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chat_common::ApiError;
use tokio::time::Instant;
use uuid::Uuid;

use local::LocalBuckets;
use remote::RedisBuckets;

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub per_second: f64,
    pub burst: u32,
}

impl Rule {
    pub const fn new(per_second: f64, burst: u32) -> Self {
        Self { per_second, burst }
    }

    /// Refill rate and capacity, clamped to something a bucket can work with
    /// (a zero or negative rate refills very slowly instead of dividing by 0).
    fn rate_and_burst(&self) -> (f64, f64) {
        let rate = if self.per_second.is_finite() && self.per_second > MIN_RATE {
            self.per_second
        } else {
            MIN_RATE
        };
        (rate, f64::from(self.burst.max(1)))
    }

    /// Seconds until a bucket holding `tokens` is full again (at most a day).
    fn secs_to_full(&self, tokens: f64) -> f64 {
        let (rate, burst) = self.rate_and_burst();
        ((burst - tokens).max(0.0) / rate).min(MAX_WAIT_SECS)
    }
}

const MIN_RATE: f64 = 1e-6;
const MAX_WAIT_SECS: f64 = 86_400.0;

/// Limits for the command side. Defaults: messages 10/s with a burst of 30
/// per user, auth 1/s with a burst of 10 per IP, in process.
#[derive(Clone)]
pub struct RateLimitConfig {
    pub messages: Rule,
    /// Every other command, per user (reactions, edits, pins, …).
    pub commands: Rule,
    pub auth: Rule,
    /// Login attempts per account, whatever address they come from.
    pub login: Rule,
    /// Proxies whose `X-Forwarded-For` names the client ([`client_ip`]).
    pub trusted_proxies: Vec<client_ip::Cidr>,
    /// Redis shared by all nodes; `None` keeps the buckets in this process.
    pub redis_url: Option<String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            messages: Rule::new(10.0, 30),
            commands: Rule::new(20.0, 60),
            auth: Rule::new(1.0, 10),
            login: Rule::new(0.1, 10),
            trusted_proxies: Vec::new(),
            redis_url: None,
        }
    }
}

impl std::fmt::Debug for RateLimitConfig {
    // The URL may carry a password: print only where it points.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redis = self.redis_url.as_deref().map(redact_url);
        f.debug_struct("RateLimitConfig")
            .field("messages", &self.messages)
            .field("commands", &self.commands)
            .field("auth", &self.auth)
            .field("login", &self.login)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("redis_url", &redis)
            .finish()
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Where "now" comes from for in-process buckets (injectable for tests).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Decision {
    Allow,
    /// Over the limit: a token will be there after this long.
    Wait(Duration),
    /// The buckets' store cannot answer, and this check fails closed.
    Unavailable,
}

/// What a check does when the buckets' store (Redis) cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnOutage {
    /// Allow: abuse protection must not take the write side down with it.
    Allow,
    /// Refuse: a login limit that fails open is no limit to a guesser.
    Refuse,
}

enum Backend {
    Local(LocalBuckets),
    Redis(RedisBuckets),
}

/// Checks requests against token buckets, in Redis or in process.
pub struct RateLimiter {
    messages: Rule,
    commands: Rule,
    auth: Rule,
    login: Rule,
    trusted_proxies: Vec<client_ip::Cidr>,
    backend: Backend,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("messages", &self.messages)
            .field("commands", &self.commands)
            .field("auth", &self.auth)
            .field("distributed", &self.is_distributed())
            .finish()
    }
}

impl RateLimiter {
    /// Redis-backed when `redis_url` is set (connecting now, so a wrong URL
    /// fails at startup), otherwise in process.
    pub async fn new(config: &RateLimitConfig) -> Result<Self, String> {
        let backend = match &config.redis_url {
            Some(url) => Backend::Redis(RedisBuckets::connect(url).await.map_err(|e| {
                format!("rate limits: cannot use Redis at {}: {e}", redact_url(url))
            })?),
            None => Backend::Local(LocalBuckets::new(Arc::new(Instant::now))),
        };
        Ok(Self {
            messages: config.messages,
            commands: config.commands,
            auth: config.auth,
            login: config.login,
            trusted_proxies: config.trusted_proxies.clone(),
            backend,
        })
    }

    /// In-process buckets whatever `redis_url` says.
    pub fn in_process(config: &RateLimitConfig) -> Self {
        Self::in_process_with_clock(config, Arc::new(Instant::now))
    }

    /// In-process buckets timed by `clock` (tests move it by hand).
    pub fn in_process_with_clock(config: &RateLimitConfig, clock: Clock) -> Self {
        Self {
            messages: config.messages,
            commands: config.commands,
            auth: config.auth,
            login: config.login,
            trusted_proxies: config.trusted_proxies.clone(),
            backend: Backend::Local(LocalBuckets::new(clock)),
        }
    }

    /// Whether the buckets are shared through Redis.
    pub fn is_distributed(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Take one token from `bucket` under `rule`; over the limit is a 429
    /// `rate_limited` with `Retry-After` (whole seconds, at least 1).
    ///
    /// If Redis fails, the request is allowed (fail open) and a warning is
    /// logged now and then: a limiter outage must not take the whole write
    /// side down with it, and the limits are abuse protection, not quotas.
    pub async fn check(&self, bucket: &str, rule: &Rule) -> Result<(), ApiError> {
        self.check_with(bucket, rule, OnOutage::Allow).await
    }

    async fn check_with(
        &self,
        bucket: &str,
        rule: &Rule,
        outage: OnOutage,
    ) -> Result<(), ApiError> {
        let decision = match &self.backend {
            Backend::Local(b) => b.take(bucket, rule),
            Backend::Redis(b) => b.take(bucket, rule, outage).await,
        };
        match decision {
            Decision::Allow => Ok(()),
            Decision::Wait(wait) => Err(rate_limited(wait)),
            Decision::Unavailable => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "the rate limiter cannot be reached; retry shortly",
            )
            .with_retry_after(remote::COOL_OFF.as_secs().max(1))),
        }
    }

    /// The per-user limit on sending messages.
    pub async fn check_messages(&self, user_id: Uuid) -> Result<(), ApiError> {
        self.check(&format!("msg:{user_id}"), &self.messages).await
    }

    /// The per-user limit on every command other than a send.
    pub async fn check_commands(&self, user_id: Uuid) -> Result<(), ApiError> {
        self.check(&format!("cmd:{user_id}"), &self.commands).await
    }

    /// The per-IP limit on the auth endpoints. IPv6 clients are limited per
    /// /64, the block a single host usually gets. Fails closed.
    pub async fn check_auth(&self, ip: IpAddr) -> Result<(), ApiError> {
        let bucket = format!("auth:{}", ip_bucket(ip));
        self.check_with(&bucket, &self.auth, OnOutage::Refuse).await
    }

    /// The client's address for the per-IP limits (see [`client_ip`]).
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        client_ip::client_ip(peer, forwarded_for, &self.trusted_proxies)
    }

    /// The per-account limit on logins, next to the per-IP one: guessing one
    /// account's password from many addresses is limited too. Fails closed.
    pub async fn check_login(&self, username: &str) -> Result<(), ApiError> {
        let name: String = username.trim().to_lowercase().chars().take(64).collect();
        self.check_with(&format!("login:{name}"), &self.login, OnOutage::Refuse)
            .await
    }
}

/// The built-in auth's per-account login limit is this limiter's.
#[async_trait::async_trait]
impl chat_auth::LoginLimits for RateLimiter {
    async fn check_login(&self, username: &str) -> Result<(), ApiError> {
        RateLimiter::check_login(self, username).await
    }
}

fn ip_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn rate_limited(wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {secs} s"),
    )
    .with_retry_after(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_rounded_up_to_at_least_a_second() {
        assert_eq!(rate_limited(Duration::from_millis(1)).retry_after, Some(1));
        assert_eq!(
            rate_limited(Duration::from_millis(1001)).retry_after,
            Some(2)
        );
        assert_eq!(rate_limited(Duration::ZERO).retry_after, Some(1));
        assert_eq!(rate_limited(Duration::from_secs(3)).code, "rate_limited");
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(ip_bucket(a), ip_bucket(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_bucket(mapped), "192.0.2.7");
    }

    #[test]
    fn the_redis_password_never_prints() {
        let config = RateLimitConfig {
            redis_url: Some("redis://user:secret@cache:6379/0".to_owned()),
            ..RateLimitConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("cache:6379"), "{printed}");
    }

    #[test]
    fn nonsense_rules_are_clamped() {
        assert_eq!(Rule::new(0.0, 0).rate_and_burst(), (MIN_RATE, 1.0));
        assert_eq!(Rule::new(f64::NAN, 3).rate_and_burst(), (MIN_RATE, 3.0));
        assert_eq!(Rule::new(0.0, 5).secs_to_full(0.0), MAX_WAIT_SECS);
    }

    /// A TCP relay to the test Redis that the test can cut.
    async fn relay_to_redis() -> (String, tokio::sync::watch::Sender<bool>) {
        let target = std::env::var("REDIS_URL_TEST")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cut_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let mut cut_rx = cut_rx.clone();
                tokio::select! {
                    _ = cut_rx.changed() => return,
                    Ok((mut client, _)) = listener.accept() => {
                        let target = target.clone();
                        tokio::spawn(async move {
                            let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = cut_rx.changed() => {}
                            }
                        });
                    }
                }
            }
        });
        (format!("redis://{addr}"), cut)
    }

    #[tokio::test]
    async fn with_redis_gone_logins_and_auth_are_refused_while_sends_go_on() {
        let (url, cut) = relay_to_redis().await;
        let config = RateLimitConfig {
            redis_url: Some(url),
            ..RateLimitConfig::default()
        };
        let limiter = RateLimiter::new(&config)
            .await
            .expect("Redis through the relay");
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(limiter.check_login("someone").await.is_ok());
        cut.send(true).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = limiter.check_login("someone").await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            limiter.check_auth(ip).await.unwrap_err().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            limiter.check_messages(Uuid::now_v7()).await.is_ok(),
            "sends fail open"
        );
    }
}
