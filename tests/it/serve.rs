//! End-to-end: `chat serve` creates its database, migrates, answers health
//! checks and shuts down gracefully.

use std::time::Duration;

use chat::{App, AppConfig};
use chat_common::config::Secret;

use chat_testkit::TestDb;
use serde_json::Value;

use crate::support::ServeNode;

/// The whole app on port 0 against `db`, with development settings.
fn config(db: &TestDb) -> AppConfig {
    let mut config = AppConfig::dev(
        Secret::new(db.url.clone()),
        Secret::new("a-test-key-of-at-least-32-bytes!!"),
    );
    config.database_max_connections = 4;
    config
}

#[tokio::test]
async fn the_app_creates_its_database_and_answers_health_checks() {
    let db = TestDb::unborn();
    let app = App::build(config(&db))
        .await
        .expect("the app builds against a database that did not exist");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["event_store"]["head_position"], 0);

    // The schema is there.
    let pool = db.pool(1).await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    pool.close().await;

    stop.send(()).unwrap();
    server.await.unwrap().expect("graceful shutdown");
}

#[tokio::test]
async fn the_binary_serves_and_stops_on_sigterm() {
    let db = TestDb::unborn();
    let node = ServeNode::start(&db.url, &[]).await;
    let res = reqwest::get(format!("{}/healthz", node.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // SIGTERM → graceful exit with status 0.
    let status = node.terminate().await;
    assert!(status.success(), "exit status {status:?}");
}

/// A client that never finishes its request cannot hold shutdown up: past
/// the grace, open connections are dropped and the app stops.
#[tokio::test]
async fn shutdown_does_not_wait_for_a_request_that_never_finishes() {
    use tokio::io::AsyncWriteExt;

    let db = TestDb::create().await;
    let app = App::build(config(&db))
        .await
        .unwrap()
        .with_shutdown_grace(Duration::from_millis(500));
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let registered: Value = reqwest::Client::new()
        .post(format!("http://{addr}/v1/auth/register"))
        .json(
            &serde_json::json!({"username": "slow_uploader", "password": "correct horse battery"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["access_token"].as_str().unwrap();
    // An upload whose body trickles in and never ends: its handler is in
    // flight, which graceful shutdown alone would wait for forever.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\nabc"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(30), server).await;
    assert!(
        done.is_ok(),
        "the app kept waiting for the unfinished request"
    );
    drop(slow);
}

/// The app on `db` with its HTTP limits set by `http`, running until the
/// test ends; answers its address.
async fn serve_with(db: &TestDb, http: chat_common::http::HttpConfig) -> std::net::SocketAddr {
    let mut config = config(db);
    config.http = http;
    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    addr
}

fn short_limits() -> chat_common::http::HttpConfig {
    chat_common::http::HttpConfig {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

/// Read until the peer closes; `Err` if it is still open after `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Result<String, ()> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut got)).await;
    match read {
        Ok(_) => Ok(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => Err(()),
    }
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::AsyncWriteExt;
    let db = TestDb::create().await;
    let addr = serve_with(&db, short_limits()).await;
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for (name, s) in [("silent", &mut silent), ("slow headers", &mut slow)] {
        assert!(
            closed_within(s, Duration::from_secs(10)).await.is_ok(),
            "the {name} connection is still open"
        );
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::create().await;
    let addr = serve_with(&db, short_limits()).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut s, Duration::from_secs(10)).await.is_ok(),
        "the idle connection is still open"
    );
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_answers_request_timeout() {
    use tokio::io::AsyncWriteExt;
    let db = TestDb::create().await;
    let addr = serve_with(&db, short_limits()).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\nConnection: close\r\n\r\n{\"username\":",
    )
    .await
    .unwrap();
    let answer = closed_within(&mut s, Duration::from_secs(10))
        .await
        .expect("an answer before the test's own timeout");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn query_statements_time_out_on_the_queries_pool() {
    let db = TestDb::create().await;
    let reads = chat_store::postgres::connect_reads(&db.url, 1, Duration::from_millis(200))
        .await
        .unwrap();
    let err = sqlx::query("SELECT pg_sleep(2)")
        .execute(&reads)
        .await
        .expect_err("cancelled by statement_timeout");
    let code = err
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("57014"), "{err}");
}

#[tokio::test]
async fn a_users_queries_past_the_burst_answer_429_and_others_are_not_affected() {
    let db = TestDb::create().await;
    let mut config = config(&db);
    config.queries.limits = chat_query_api::limit::QueryLimitConfig {
        per_second: 0.01,
        burst: 3,
        in_flight: 8,
    };
    let app = App::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for name in ["busy_user", "calm_user"] {
        let r: Value = http
            .post(format!("{base}/v1/auth/register"))
            .json(&serde_json::json!({"username": name, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(r["access_token"].as_str().unwrap().to_owned());
    }
    let me = |token: &str| {
        http.get(format!("{base}/v1/me"))
            .bearer_auth(token.to_owned())
            .send()
    };
    for _ in 0..3 {
        assert_eq!(me(&tokens[0]).await.unwrap().status(), 200);
    }
    let refused = me(&tokens[0]).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(me(&tokens[1]).await.unwrap().status(), 200);
}
