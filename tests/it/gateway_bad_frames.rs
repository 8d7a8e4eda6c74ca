//! Bad input on the WebSocket: an `error` frame or a close, never a crash.

use std::time::Duration;

use crate::gateway_client::{Ended, WAIT, Ws, ws_url};
use crate::support::{SECRET, TestApp, User};
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use chat_gateway::protocol::{CLOSE_TOKEN_EXPIRED, CLOSE_TOO_BIG};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn error_code(ws: &mut Ws) -> String {
    let f = ws.next_of("error").await;
    f["code"].as_str().expect("a code").to_owned()
}

#[tokio::test]
async fn bad_frames_get_an_error_frame_or_a_close_and_the_gateway_goes_on() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let foreign = app
        .group(&users[1], &[&users[2], &users[3]], "not yours")
        .await;
    let mut ws = Ws::connect(&app.base, &users[0]).await;

    ws.send_raw(Message::text("this is not JSON")).await;
    assert_eq!(error_code(&mut ws).await, "invalid_json");
    ws.send(json!({"type": "dance"})).await;
    assert_eq!(error_code(&mut ws).await, "invalid_frame");
    ws.send(json!({"type": "subscribe", "after_position": "soon"}))
        .await;
    assert_eq!(error_code(&mut ws).await, "invalid_frame");
    ws.send(json!({"type": "typing", "chat_id": foreign, "state": "start"}))
        .await;
    assert_eq!(error_code(&mut ws).await, "not_a_member");
    ws.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(error_code(&mut ws).await, "invalid_frame");
    ws.send(json!({"type": "subscribe", "after_position": 1_000_000_000u64}))
        .await;
    assert_eq!(error_code(&mut ws).await, "invalid_position");
    ws.send(json!({"type": "subscribe"})).await;
    ws.next_of("subscribed").await;
    ws.send(json!({"type": "subscribe"})).await;
    assert_eq!(error_code(&mut ws).await, "already_subscribed");

    ws.send_raw(Message::text("x".repeat(1024 * 1024))).await;
    match ws.ended().await {
        Ended::Close(code) => assert_eq!(code, CLOSE_TOO_BIG),
        Ended::Dropped => {}
    }

    // The node is fine: a new socket works.
    let mut again = Ws::connect(&app.base, &users[0]).await;
    again.send(json!({"type": "ping"})).await;
    assert_eq!(again.next(WAIT).await.expect("open")["type"], "pong");
}

#[tokio::test]
async fn an_upgrade_without_a_valid_token_is_refused() {
    let app = TestApp::spawn().await;
    let url = format!("{}/v1/ws", app.base.replacen("http", "ws", 1));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    assert!(
        tokio_tungstenite::connect_async(ws_url(&app.base, "garbage"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires_unless_renewed() {
    let app = TestApp::spawn().await;
    let user = &app.users(1).await[0];
    let signer = TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).expect("a signer");
    let short = |secs: i64| {
        let now = time::OffsetDateTime::now_utc();
        let claims = signer.claims(user.id, vec![], now, time::Duration::seconds(secs));
        signer.sign(&claims).expect("a token")
    };
    let brief = User {
        token: short(2),
        ..user.clone()
    };
    let mut renewed = Ws::connect(&app.base, &brief).await;
    renewed
        .send(json!({"type": "auth", "access_token": short(600)}))
        .await;
    let mut expiring = Ws::connect(&app.base, &brief).await;

    let started = std::time::Instant::now();
    assert_eq!(expiring.ended().await, Ended::Close(CLOSE_TOKEN_EXPIRED));
    assert!(started.elapsed() < Duration::from_secs(5));
    renewed.send(json!({"type": "ping"})).await;
    assert_eq!(renewed.next_of("pong").await["type"], "pong");
}
