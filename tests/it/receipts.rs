//! Delivery and read receipts end to end: `POST …/delivered` and the
//! socket's `delivered` ack move the delivery marker, the sender sees it
//! live, `…/receipts` answers `delivered_at` and `read_at`, and a user
//! without read receipts shares neither.

use chat_gateway::GatewayConfig;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{
    Ws, app_without_gateway, gateway_node, message, own_event, pos, start,
};
use crate::support::{TestApp, User};

async fn mark(app: &TestApp, chat: Uuid, who: &User, what: &str, seq: u64) -> u64 {
    let r = app
        .post(
            &format!("/v1/chats/{chat}/{what}"),
            who,
            Some(json!({ "up_to_seq": seq })),
        )
        .await;
    assert!(r.status.is_success(), "{what}: {}", r.raw);
    pos(&r.body)
}

/// The receipts of `message` as `viewer` sees them: user → (delivered, read).
async fn receipts(
    app: &TestApp,
    viewer: &User,
    chat: Uuid,
    message: Uuid,
    at: u64,
) -> Vec<(Uuid, bool, bool)> {
    let r = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/messages/{message}/receipts?min_position={at}"),
            Some(&viewer.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|x| {
            (
                x["user_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("a user"),
                x["delivered_at"].is_string(),
                x["read_at"].is_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn delivery_comes_before_read_on_both_sides_of_a_direct_chat() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let (a, b) = (&u[0], &u[1]);
    let chat = app.accepted_direct(a, b).await;
    let m1 = app.send(chat, a, "m1", "first").await.id("message_id");
    let sent = app.send(chat, a, "m2", "second").await;
    let m2 = sent.id("message_id");
    assert!(
        receipts(&app, a, chat, m1, pos(&sent.body))
            .await
            .is_empty()
    );

    let at = mark(&app, chat, b, "delivered", 2).await;
    assert_eq!(receipts(&app, a, chat, m2, at).await, [(b.id, true, false)]);
    let at = mark(&app, chat, b, "read", 1).await;
    assert_eq!(receipts(&app, a, chat, m1, at).await, [(b.id, true, true)]);
    assert_eq!(receipts(&app, a, chat, m2, at).await, [(b.id, true, false)]);

    // The other way round: reading without an ack implies delivery.
    let m3 = app.send(chat, b, "m3", "reply").await.id("message_id");
    let at = mark(&app, chat, a, "read", 3).await;
    assert_eq!(receipts(&app, b, chat, m3, at).await, [(a.id, true, true)]);
    // An ack behind the read marker appends nothing.
    let before = app.event_count().await;
    mark(&app, chat, a, "delivered", 3).await;
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn without_read_receipts_delivery_is_not_shared_either() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let (a, b) = (&u[0], &u[1]);
    let chat = app.accepted_direct(a, b).await;
    let m1 = app.send(chat, a, "m1", "first").await.id("message_id");
    let r = app
        .call(
            Method::PUT,
            "/v1/me/settings",
            Some(&b.token),
            Some(json!({"read_receipts": false})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let at = mark(&app, chat, b, "delivered", 1).await;
    assert!(receipts(&app, a, chat, m1, at).await.is_empty());
    // Their own marker is always theirs to see.
    let m2 = app.send(chat, b, "m2", "mine").await.id("message_id");
    let at = mark(&app, chat, a, "delivered", 2).await;
    assert_eq!(receipts(&app, a, chat, m2, at).await, [(a.id, true, false)]);
    assert!(receipts(&app, b, chat, m2, at).await.is_empty());
}

#[tokio::test]
async fn bad_delivery_marks_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    message(&app, chat, &u[0], "one").await;
    let before = app.event_count().await;
    let path = format!("/v1/chats/{chat}/delivered");
    app.post(&path, &u[1], Some(json!({"up_to_seq": 2})))
        .await
        .problem(400, "seq_out_of_range");
    app.post(&path, &u[1], Some(json!({"up_to_seq": -1})))
        .await
        .problem(400, "invalid_body");
    app.post(&path, &u[2], Some(json!({"up_to_seq": 1})))
        .await
        .problem(404, "chat_not_found");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_socket_ack_moves_the_delivery_marker_and_the_sender_sees_it_live() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let (a, b, c) = (&u[0], &u[1], &u[2]);
    let chat = app.accepted_direct(a, b).await;
    let mut sender = Ws::connect(&app.base, a).await;
    sender.subscribe(None).await;
    let mut receiver = Ws::connect(&app.base, b).await;
    receiver.subscribe(None).await;
    let mid = app.send(chat, a, "live", "hello").await.id("message_id");
    let got = receiver.event().await;
    assert_eq!(got["event"]["type"], "MessageSent");
    let seq = got["event"]["seq"].as_u64().expect("a seq");
    receiver
        .send(json!({"type": "delivered", "chat_id": chat, "up_to_seq": seq}))
        .await;
    let seen = loop {
        let f = sender.event().await;
        if f["event"]["type"] == "DeliveryMarkerMoved" {
            break f;
        }
    };
    assert_eq!(seen["event"]["user_id"], b.id.to_string());
    assert_eq!(seen["event"]["up_to_seq"], seq);
    let at = seen["position"].as_u64().expect("a position");
    assert_eq!(
        receipts(&app, a, chat, mid, at).await,
        [(b.id, true, false)]
    );

    // An ack for someone else's chat is refused on the socket.
    let mut outsider = Ws::connect(&app.base, c).await;
    outsider.subscribe(None).await;
    outsider
        .send(json!({"type": "delivered", "chat_id": chat, "up_to_seq": 1}))
        .await;
    let e = outsider.next_of("error").await;
    assert_eq!(e["code"], "chat_not_found");
    let end = own_event(&app, a, "end").await;
    let types: Vec<Value> = sender
        .events_through(end)
        .await
        .iter()
        .map(|f| f["event"]["type"].clone())
        .collect();
    assert!(!types.contains(&json!("DeliveryMarkerMoved")), "{types:?}");
}

#[tokio::test]
async fn a_gateway_without_commands_refuses_acks_with_a_code() {
    let app = app_without_gateway().await;
    let (base, node) = gateway_node(&app, GatewayConfig::default()).await;
    start(node);
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let at = message(&app, chat, &u[0], "hi").await;
    let mut ws = Ws::connect(&base, &u[1]).await;
    // Until this node's tail has routed the message, it may not know the chat.
    ws.subscribe_past(at).await;
    ws.send(json!({"type": "delivered", "chat_id": chat, "up_to_seq": 1}))
        .await;
    let e = ws.next_of("error").await;
    assert_eq!(e["code"], "delivery_unavailable");
}
