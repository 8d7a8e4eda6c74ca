//! Auth and rate limits through the whole app.

use crate::support::{TestApp, test_config};
use chat_common::auth::{ExternalIssuer, ExternalKey, JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

fn token(secret: &str, issuer: &str, audience: &str, sub: &str, ttl: time::Duration) -> String {
    let mut cfg = JwtConfig::new(Secret::new(secret));
    cfg.issuer = issuer.into();
    cfg.audience = audience.into();
    let signer = TokenSigner::new(&cfg).unwrap();
    let mut claims = signer.claims(Uuid::now_v7(), vec![], OffsetDateTime::now_utc(), ttl);
    claims.sub = sub.into();
    signer.sign(&claims).unwrap()
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let u = app.register("rotating_user").await;
    let refresh = |t: String| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/v1/auth/refresh",
                None,
                Some(json!({ "refresh_token": t })),
            )
            .await
        }
    };
    let second = refresh(u.refresh.clone()).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.raw);
    let newest = second.body["refresh_token"].as_str().unwrap().to_owned();
    refresh(u.refresh.clone())
        .await
        .problem(401, "refresh_token_reused");
    refresh(newest).await.problem(401, "invalid_refresh_token");
}

#[tokio::test]
async fn expired_and_foreign_tokens_are_unauthorized() {
    let app = TestApp::spawn().await;
    let u = app.register("token_owner").await;
    let sub = u.id.to_string();
    let expired = token(
        crate::support::SECRET,
        "chat",
        "chat",
        &sub,
        time::Duration::minutes(-10),
    );
    let forged = token(
        "some-other-secret-of-enough-length!!",
        "chat",
        "chat",
        &sub,
        time::Duration::minutes(5),
    );
    for (t, code) in [(expired, "token_expired"), (forged, "invalid_token")] {
        let r = app
            .call(
                Method::PUT,
                "/v1/me/profile",
                Some(&t),
                Some(json!({ "bio": "x" })),
            )
            .await;
        r.problem(401, code);
    }
    app.call(
        Method::PUT,
        "/v1/me/profile",
        None,
        Some(json!({ "bio": "x" })),
    )
    .await
    .problem(401, "missing_token");
}

#[tokio::test]
async fn an_external_issuers_token_works_and_creates_the_profile() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    let external_secret = "the-identity-providers-own-hs256-secret";
    config.command.auth.jwt.external = Some(ExternalIssuer {
        issuer: "https://id.example".into(),
        audience: "chat-app".into(),
        key: ExternalKey::Hs256(Secret::new(external_secret)),
        role_map: vec![],
    });
    let app = TestApp::spawn_with(db, config).await;
    let t = token(
        external_secret,
        "https://id.example",
        "chat-app",
        "alice@idp",
        time::Duration::minutes(5),
    );
    let r = app
        .call(
            Method::PUT,
            "/v1/me/profile",
            Some(&t),
            Some(json!({ "bio": "from outside" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let user_id = r.id("user_id");
    let types: Vec<String> = app
        .events(&format!("user-{user_id}"))
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(types, ["UserRegistered", "ProfileUpdated"]);

    // Their password and sessions live with their identity provider.
    let r = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&t),
            Some(json!({"current_password": "anything at all", "new_password": "a new secret"})),
        )
        .await;
    r.problem(409, "password_not_set");
    let r = app
        .call(Method::GET, "/v1/me/sessions", Some(&t), None)
        .await;
    assert_eq!(r.body["items"], json!([]), "{}", r.raw);
}

async fn limited_app(redis: bool) -> TestApp {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.messages.per_second = 1.0;
    config.command.rate_limits.messages.burst = 5;
    config.command.rate_limits.redis_url = redis.then(|| {
        std::env::var("REDIS_URL_TEST").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    });
    TestApp::spawn_with(db, config).await
}

async fn sends_trip_at_the_burst(app: &TestApp) {
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    for i in 0..5 {
        let r = app.send(chat, &users[0], &format!("m{i}"), "hi").await;
        assert_eq!(r.status, StatusCode::CREATED, "send {i}: {}", r.raw);
    }
    let before = app.event_count().await;
    let over = app.send(chat, &users[0], "m-over", "hi").await;
    over.problem(429, "rate_limited");
    let retry: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(
        app.event_count().await,
        before,
        "a limited send appends nothing"
    );
    // The other user has a bucket of their own.
    assert_eq!(
        app.send(chat, &users[1], "theirs", "hi").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_message_rate_limit_trips_at_the_burst_in_process() {
    sends_trip_at_the_burst(&limited_app(false).await).await;
}

#[tokio::test]
async fn the_message_rate_limit_trips_at_the_burst_with_redis() {
    sends_trip_at_the_burst(&limited_app(true).await).await;
}

#[tokio::test]
async fn auth_endpoints_are_limited_per_ip() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.auth.per_second = 0.01;
    config.command.rate_limits.auth.burst = 3;
    let app = TestApp::spawn_with(db, config).await;
    let login = json!({ "username": "nobody_here", "password": "wrong password" });
    for _ in 0..3 {
        let r = app
            .call(Method::POST, "/v1/auth/login", None, Some(login.clone()))
            .await;
        r.problem(401, "invalid_credentials");
    }
    app.call(Method::POST, "/v1/auth/login", None, Some(login))
        .await
        .problem(429, "rate_limited");
}

#[tokio::test]
async fn other_commands_share_a_per_user_limit_too() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.commands.per_second = 0.01;
    config.command.rate_limits.commands.burst = 4;
    let app = TestApp::spawn_with(db, config).await;
    let users = app.users(2).await;
    // Creating and accepting the chat take one command each of the users' buckets.
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let m = app.send(chat, &users[0], "m", "hi").await.id("message_id");
    for emoji in ["%F0%9F%91%8D", "%F0%9F%8E%89", "%F0%9F%94%A5"] {
        let r = app
            .call(
                Method::PUT,
                &format!("/v1/chats/{chat}/messages/{m}/reactions/{emoji}"),
                Some(&users[0].token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    }
    let over = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{chat}/messages/{m}/reactions/%E2%9D%A4"),
            Some(&users[0].token),
            None,
        )
        .await;
    over.problem(429, "rate_limited");
}

/// A burst of sign-ups (each an Argon2 hash) queues for the cores instead of
/// holding pool connections: every one succeeds or is told when to retry,
/// and other users' commands keep being answered meanwhile. Before, the 10
/// connections of this app's pool ran dry and every request answered 503.
#[tokio::test]
async fn fifty_concurrent_registrations_leave_the_pool_to_everyone_else() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (
        app.register("burst_alice").await,
        app.register("burst_bob").await,
    );
    let chat = app.accepted_direct(&alice, &bob).await;
    let signups = futures::future::join_all((0..50).map(|i| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({ "username": format!("burst_{i}"), "password": "correct horse battery" })),
            )
            .await
        }
    }));
    let sends = async {
        let mut answers = Vec::new();
        for i in 0..20 {
            answers.push(
                app.send(chat, &alice, &format!("during-{i}"), "still here")
                    .await,
            );
        }
        answers
    };
    let (signups, sends) = tokio::join!(signups, sends);
    for r in &signups {
        match r.status.as_u16() {
            201 => {}
            429 | 503 => assert!(
                r.headers.contains_key("retry-after"),
                "a refusal says when to retry: {}",
                r.raw
            ),
            _ => panic!("registration answered {}: {}", r.status, r.raw),
        }
    }
    let created = signups
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert!(
        created >= 40,
        "most of the burst is served: {created} of 50"
    );
    for r in &sends {
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "a send during the burst: {}",
            r.raw
        );
    }
}

/// Every answer carries the security headers; token answers are never
/// cached; only configured origins get CORS answers (and HSTS when asked).
#[tokio::test]
async fn security_headers_no_store_tokens_and_cors_for_listed_origins_only() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.http.cors_origins = vec!["https://app.example".into()];
    config.http.hsts = true;
    let app = TestApp::spawn_with(db, config).await;
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let h = health.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let u = app.register("headers_user").await;
    assert!(!u.token.is_empty());
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({ "username": "headers_user", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.raw);
    assert_eq!(login.headers["cache-control"], "no-store");
    let preflight = |origin: &'static str| {
        let app = &app;
        async move {
            app.http
                .request(Method::OPTIONS, format!("{}/v1/chats/group", app.base))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let allowed = preflight("https://app.example").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

/// Logins are limited per account as well as per address: guessing one
/// account's password from many addresses runs into the account's limit,
/// even with the right password at the end; other accounts are unaffected.
#[tokio::test]
async fn logins_are_limited_per_account() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.login = chat_command_api::ratelimit::Rule::new(0.001, 3);
    let app = TestApp::spawn_with(db, config).await;
    app.register("target_account").await;
    app.register("bystander").await;
    let login = |who: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({ "username": who, "password": password })),
            )
            .await
        }
    };
    for _ in 0..3 {
        login("target_account", "wrong password!")
            .await
            .problem(401, "invalid_credentials");
    }
    let limited = login("target_account", "correct horse battery").await;
    limited.problem(429, "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    let other = login("bystander", "correct horse battery").await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.raw);
}

/// Three login attempts from `from` (as `X-Forwarded-For` says): statuses.
async fn attempts(app: &TestApp, from: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = app
            .call_with(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({ "username": "nobody_here", "password": "whatever123" })),
                &[("x-forwarded-for", from)],
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    statuses
}

/// Behind a trusted proxy each client has its own per-IP bucket (taken from
/// `X-Forwarded-For`); from an untrusted peer that header is ignored.
#[tokio::test]
async fn the_per_ip_limit_reads_forwarded_for_only_from_trusted_proxies() {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.auth = chat_command_api::ratelimit::Rule::new(0.001, 2);
    config.command.rate_limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let behind_proxy = TestApp::spawn_with(db, config.clone()).await;
    assert_eq!(
        attempts(&behind_proxy, "198.51.100.1").await,
        [401, 401, 429]
    );
    assert_eq!(
        attempts(&behind_proxy, "198.51.100.2").await,
        [401, 401, 429]
    );

    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.auth = chat_command_api::ratelimit::Rule::new(0.001, 2);
    let direct = TestApp::spawn_with(db, config).await;
    assert_eq!(attempts(&direct, "198.51.100.1").await, [401, 401, 429]);
    assert_eq!(attempts(&direct, "198.51.100.2").await, [429, 429, 429]);
}
