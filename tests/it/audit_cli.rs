//! `chat replay` and `chat audit` against a real history.

use std::process::Command;

use crate::support::TestApp;
use serde_json::Value;

fn chat(args: &[&str], url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chat"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn replay_prints_the_log_and_audit_verifies_and_travels_in_time() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat_id = app.accepted_direct(&users[0], &users[1]).await;
    for i in 0..3 {
        app.send(chat_id, &users[0], &format!("m{i}"), "hello")
            .await;
    }
    let url = app.db().url.clone();
    let total = app.event_count().await as usize;

    let (ok, out) = chat(&["replay", "--from-position", "0"], &url);
    assert!(ok);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), total);
    let positions: Vec<u64> = lines
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, (1..=total as u64).collect::<Vec<_>>());

    let stream = format!("chat-{chat_id}");
    let (ok, out) = chat(
        &[
            "replay",
            "--stream",
            &stream,
            "--from-position",
            "0",
            "--to-position",
            "1000",
        ],
        &url,
    );
    assert!(ok);
    assert_eq!(out.lines().count(), 5, "request, accept, three messages");

    let (ok, out) = chat(&["audit", "state", &stream, "--at", "2"], &url);
    assert!(ok, "{out}");
    let state: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            state["version"].as_u64(),
            state["state"]["last_seq"].as_u64()
        ),
        (Some(2), Some(0))
    );

    let (ok, _) = chat(&["audit", "verify", "--all"], &url);
    assert!(ok, "an untouched log verifies");
    let pool = app.db().pool(1).await;
    sqlx::query("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"forged\"') WHERE stream = $1 AND version = 4")
        .bind(&stream)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (ok, out) = chat(&["audit", "verify", &stream], &url);
    assert!(!ok, "a forged payload fails verification");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["first_broken_version"], 4);
}
