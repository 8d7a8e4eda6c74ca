//! End-to-end: `chat serve` creates its database, migrates, answers health
//! checks and shuts down gracefully.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chat::{App, AppConfig};
use chat_common::config::Secret;

use chat_testkit::TestDb;
use serde_json::Value;

/// The whole app on port 0 against `db`, with development settings.
fn config(db: &TestDb) -> AppConfig {
    AppConfig {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: Secret::new(db.url.clone()),
        database_max_connections: 4,
        command: chat_command_api::CommandConfig::dev(),
        query_wait_timeout: std::time::Duration::from_secs(5),
        kafka: None,
        event_store: Default::default(),
        http: Default::default(),
        parts: chat::app::Parts::ALL,
    }
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("serve")
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", &db.url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chat serve");

    // The bound address is logged because port 0 picks one.
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["message"] == "listening"
            {
                return v["addr"].as_str().map(str::to_owned);
            }
        }
        None
    });
    let addr = tokio::time::timeout(Duration::from_secs(60), addr)
        .await
        .expect("the server logs its address")
        .unwrap()
        .expect("a listening line with the address");

    let res = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // SIGTERM → graceful exit with status 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
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
