//! Live delivery through `GET /v1/ws`: to every member, to nobody else, and
//! following membership at the exact position of each change.

use crate::gateway_client::{Ws, add_members, message, own_event, remove_member};
use crate::support::TestApp;

#[tokio::test]
async fn every_member_of_a_group_receives_its_messages_and_nobody_else_does() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (a, b, c, outsider) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app.group(a, &[b, c], "live").await;
    let mut sockets = Vec::new();
    for user in [a, b, c, outsider] {
        let mut ws = Ws::connect(&app.base, user).await;
        ws.subscribe(None).await;
        sockets.push(ws);
    }

    let sent = message(&app, chat, a, "hello everyone").await;
    for ws in &mut sockets[..3] {
        let e = ws.event().await;
        assert_eq!(e["position"], sent);
        assert_eq!(e["chat_id"], chat.to_string());
        assert_eq!(e["event"]["type"], "MessageSent");
        assert_eq!(e["event"]["text"], "hello everyone");
    }
    // The outsider's next event is their own, later one: the message never came.
    let own = own_event(&app, outsider, "Outsider").await;
    let e = sockets[3].event().await;
    assert_eq!(e["position"], own);
    assert_eq!(e["event"]["type"], "ProfileUpdated");
    assert_eq!(e["chat_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_user_added_to_a_group_receives_from_that_point_and_stops_when_removed() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (a, b, c, d) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app.group(a, &[b, c], "membership").await;
    let mut ws = Ws::connect(&app.base, d).await;
    ws.subscribe(None).await;

    message(&app, chat, a, "before d").await;
    let added = add_members(&app, chat, a, &[d]).await;
    let e = ws.event().await;
    assert_eq!(e["position"], added, "the first event is the one adding d");
    assert_eq!(e["event"]["type"], "MembersAdded");

    let during = message(&app, chat, b, "while d is in").await;
    assert_eq!(ws.event().await["position"], during);

    let removed = remove_member(&app, chat, a, d).await;
    let e = ws.event().await;
    assert_eq!(
        e["position"], removed,
        "the removed member gets their removal"
    );
    assert_eq!(e["event"]["type"], "MemberRemoved");

    message(&app, chat, a, "after d").await;
    let own = own_event(&app, d, "D").await;
    assert_eq!(
        ws.event().await["position"],
        own,
        "nothing after the removal"
    );
}

#[tokio::test]
async fn a_socket_that_has_not_subscribed_receives_no_events() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "quiet").await;
    let mut ws = Ws::connect(&app.base, &u[1]).await;
    message(&app, chat, &u[0], "unseen").await;
    ws.send(serde_json::json!({"type": "ping"})).await;
    let f = ws.next(crate::gateway_client::WAIT).await.expect("open");
    assert_eq!(f["type"], "pong");
}
