//! Token buckets in process (with a hand-moved clock) and in a real Redis
//! (`REDIS_URL_TEST`, default `redis://127.0.0.1:6379`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chat_command_api::ratelimit::{Clock, RateLimitConfig, RateLimiter, Rule};
use tokio::time::Instant;
use uuid::Uuid;

const RULE: Rule = Rule::new(1.0, 5);

/// A clock that only moves when the test says so.
fn manual_clock() -> (Clock, Arc<Mutex<Duration>>) {
    let start = Instant::now();
    let offset = Arc::new(Mutex::new(Duration::ZERO));
    let moved = offset.clone();
    (Arc::new(move || start + *moved.lock().unwrap()), offset)
}

fn redis_url() -> String {
    std::env::var("REDIS_URL_TEST").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis_limiter() -> RateLimiter {
    let config = RateLimitConfig {
        redis_url: Some(redis_url()),
        ..RateLimitConfig::default()
    };
    let limiter = RateLimiter::new(&config).await.unwrap();
    assert!(limiter.is_distributed());
    limiter
}

fn unique_bucket() -> String {
    format!("test:{}", Uuid::new_v4())
}

/// Five pass, the sixth is a 429 with a Retry-After of at least a second.
async fn burst_of_five_then_limited(limiter: &RateLimiter, bucket: &str) {
    for _ in 0..5 {
        limiter.check(bucket, &RULE).await.unwrap();
    }
    let err = limiter.check(bucket, &RULE).await.unwrap_err();
    assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err.code, "rate_limited");
    assert!(err.retry_after.unwrap() >= 1);
}

#[tokio::test]
async fn in_process_the_sixth_request_of_a_burst_of_five_waits_a_second() {
    let (clock, offset) = manual_clock();
    let limiter = RateLimiter::in_process_with_clock(&RateLimitConfig::default(), clock);

    burst_of_five_then_limited(&limiter, "user-1").await;

    *offset.lock().unwrap() += Duration::from_secs(1);
    limiter.check("user-1", &RULE).await.unwrap();
    assert!(limiter.check("user-1", &RULE).await.is_err());
}

#[tokio::test]
async fn in_process_buckets_are_independent_per_key() {
    let (clock, _) = manual_clock();
    let limiter = RateLimiter::in_process_with_clock(&RateLimitConfig::default(), clock);
    burst_of_five_then_limited(&limiter, "user-1").await;
    burst_of_five_then_limited(&limiter, "user-2").await;
}

#[tokio::test]
async fn the_default_limits_allow_a_burst_of_thirty_messages_and_ten_logins() {
    let (clock, _) = manual_clock();
    let limiter = RateLimiter::in_process_with_clock(&RateLimitConfig::default(), clock);
    let user = Uuid::new_v4();
    for _ in 0..30 {
        limiter.check_messages(user).await.unwrap();
    }
    assert!(limiter.check_messages(user).await.is_err());
    let ip = "192.0.2.1".parse().unwrap();
    for _ in 0..10 {
        limiter.check_auth(ip).await.unwrap();
    }
    assert_eq!(
        limiter.check_auth(ip).await.unwrap_err().retry_after,
        Some(1)
    );
    limiter
        .check_auth("192.0.2.2".parse().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn without_a_redis_url_the_limiter_is_in_process() {
    let limiter = RateLimiter::new(&RateLimitConfig::default()).await.unwrap();
    assert!(!limiter.is_distributed());
}

#[tokio::test]
async fn in_redis_the_sixth_request_of_a_burst_of_five_is_limited() {
    let limiter = redis_limiter().await;
    let bucket = unique_bucket();
    burst_of_five_then_limited(&limiter, &bucket).await;
    burst_of_five_then_limited(&limiter, &unique_bucket()).await;
}

#[tokio::test]
async fn two_nodes_sharing_redis_share_the_bucket() {
    let (node_a, node_b) = (redis_limiter().await, redis_limiter().await);
    let bucket = unique_bucket();
    for i in 0..5 {
        let node = if i % 2 == 0 { &node_a } else { &node_b };
        node.check(&bucket, &RULE).await.unwrap();
    }
    assert!(node_a.check(&bucket, &RULE).await.is_err());
    assert!(node_b.check(&bucket, &RULE).await.is_err());
}

#[tokio::test]
async fn a_redis_bucket_expires_once_it_would_be_full_again() {
    let limiter = redis_limiter().await;
    let bucket = unique_bucket();
    limiter.check(&bucket, &RULE).await.unwrap();

    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(format!("rl:{bucket}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    // One token short of five at one per second: full in 1 s, plus a margin.
    assert!(ttl_ms > 0, "no TTL: {ttl_ms}");
    assert!(ttl_ms <= 2_000, "TTL too long: {ttl_ms}");
}

/// A TCP proxy to the test Redis that can be cut, as if Redis went away.
async fn cuttable_redis() -> (String, tokio::task::JoinHandle<()>) {
    let client = redis::Client::open(redis_url()).unwrap();
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr.clone() else {
        panic!("REDIS_URL_TEST must be a tcp URL");
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let proxy = tokio::spawn(async move {
        let mut links = tokio::task::JoinSet::new();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let mut outbound = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .unwrap();
            links.spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (url, proxy)
}

#[tokio::test]
async fn when_redis_goes_away_requests_are_allowed() {
    let (url, proxy) = cuttable_redis().await;
    let config = RateLimitConfig {
        redis_url: Some(url),
        ..RateLimitConfig::default()
    };
    let limiter = RateLimiter::new(&config).await.unwrap();
    let bucket = unique_bucket();
    burst_of_five_then_limited(&limiter, &bucket).await;

    proxy.abort();
    let _ = proxy.await;

    for _ in 0..3 {
        limiter.check(&bucket, &RULE).await.unwrap();
    }
}

/// Abuse limits fail open, but the auth limits fail closed: with Redis
/// gone, a password guesser is refused (503 with Retry-After) rather than
/// let through unlimited.
#[tokio::test]
async fn when_redis_goes_away_auth_limits_refuse_and_others_allow() {
    let (url, proxy) = cuttable_redis().await;
    let config = RateLimitConfig {
        redis_url: Some(url),
        ..RateLimitConfig::default()
    };
    let limiter = RateLimiter::new(&config).await.unwrap();
    let ip: std::net::IpAddr = "192.0.2.44".parse().unwrap();
    limiter.check_auth(ip).await.unwrap();
    limiter.check_login("someone").await.unwrap();

    proxy.abort();
    let _ = proxy.await;

    for _ in 0..2 {
        let e = limiter.check_auth(ip).await.unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (503, "service_unavailable"));
        assert!(e.retry_after.is_some());
        let e = limiter.check_login("someone").await.unwrap_err();
        assert_eq!(e.code, "service_unavailable");
        limiter.check(&unique_bucket(), &RULE).await.unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_redis_fails_at_startup() {
    let config = RateLimitConfig {
        redis_url: Some("redis://127.0.0.1:1".to_owned()),
        ..RateLimitConfig::default()
    };
    assert!(RateLimiter::new(&config).await.is_err());
}
