//! Exact resume: reconnecting with the last position seen delivers exactly
//! the user's events after it, in order, then live, with no gap and no
//! duplicate at the seam.

use crate::gateway_client::{
    Ws, add_members, app_without_gateway, gateway_node, message, own_event, positions,
    remove_member, start,
};
use chat_gateway::GatewayConfig;

/// A small replay page, so a resume takes many rounds.
fn paged() -> GatewayConfig {
    GatewayConfig {
        replay_page: 7,
        ..GatewayConfig::default()
    }
}

#[tokio::test]
async fn resuming_after_a_hundred_events_delivers_exactly_the_users_events_in_order() {
    let app = app_without_gateway().await;
    let (base, node) = gateway_node(&app, paged()).await;
    start(node);
    let users = app.users(4).await;
    let (u, a, b, x) = (&users[0], &users[1], &users[2], &users[3]);
    let kept = app.group(a, &[u, b], "kept").await;
    let left = app.group(a, &[u, b], "removed midway").await;
    let foreign = app.group(a, &[b, x], "never u's").await;
    let direct = app.accepted_direct(a, u).await;
    let setup = own_event(&app, u, "U").await;

    let mut ws = Ws::connect(&base, u).await;
    let seen = ws.subscribe_past(setup).await;
    ws.close().await;

    let mut expected = Vec::new();
    let mut u_in_left = true;
    for i in 0..100 {
        match i {
            50 => {
                expected.push(remove_member(&app, left, a, u).await);
                u_in_left = false;
                continue;
            }
            80 => {
                expected.push(add_members(&app, left, a, &[u]).await);
                u_in_left = true;
                continue;
            }
            _ => {}
        }
        match i % 5 {
            0 => expected.push(message(&app, kept, b, &format!("kept {i}")).await),
            1 => {
                let p = message(&app, left, a, &format!("left {i}")).await;
                if u_in_left {
                    expected.push(p);
                }
            }
            2 => {
                message(&app, foreign, x, &format!("foreign {i}")).await;
            }
            3 if i % 2 == 0 => expected.push(own_event(&app, u, &format!("U {i}")).await),
            3 => {
                own_event(&app, b, &format!("B {i}")).await;
            }
            _ => expected.push(message(&app, direct, a, &format!("direct {i}")).await),
        }
    }
    let last = *expected.last().expect("events");

    let mut ws = Ws::connect(&base, u).await;
    assert_eq!(ws.subscribe(Some(seen)).await, seen);
    let got = ws.events_through(last).await;
    assert_eq!(positions(&got), expected);
    let removal = got
        .iter()
        .find(|e| e["event"]["type"] == "MemberRemoved")
        .expect("the removal is replayed");
    assert_eq!(removal["chat_id"], left.to_string());

    // Live after the replay: the next event follows without a duplicate.
    let next = message(&app, kept, a, "live again").await;
    assert_eq!(ws.event().await["position"], next);
}

#[tokio::test]
async fn a_resume_has_no_gap_or_duplicate_while_new_events_keep_arriving() {
    let app = app_without_gateway().await;
    let (base, node) = gateway_node(&app, paged()).await;
    start(node);
    let users = app.users(3).await;
    let (u, a, b) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[u, b], "busy").await;
    let setup = own_event(&app, u, "U").await;

    let mut ws = Ws::connect(&base, u).await;
    let seen = ws.subscribe_past(setup).await;
    ws.close().await;
    let mut expected = Vec::new();
    for i in 0..40 {
        expected.push(message(&app, chat, b, &format!("while away {i}")).await);
    }

    let writer = async {
        let mut sent = Vec::new();
        for i in 0..60 {
            sent.push(message(&app, chat, a, &format!("during resume {i}")).await);
        }
        sent
    };
    let reader = async {
        let mut ws = Ws::connect(&base, u).await;
        assert_eq!(ws.subscribe(Some(seen)).await, seen);
        let mut got = Vec::new();
        // Read until the writer's last message; the writer sends 60.
        while got.len() < 100 {
            got.push(ws.event().await);
        }
        got
    };
    let (sent, got) = tokio::join!(writer, reader);
    expected.extend(sent);
    assert_eq!(positions(&got), expected);
}

/// Where missed events cannot be replayed exactly (the event log is in
/// KurrentDB), a resume is refused out loud, never answered with silence;
/// subscribing from now still works.
#[tokio::test]
async fn a_node_without_exact_resume_refuses_a_resume_and_still_goes_live() {
    let app = app_without_gateway().await;
    let config = GatewayConfig {
        exact_resume: false,
        ..GatewayConfig::default()
    };
    let (base, node) = gateway_node(&app, config).await;
    start(node);
    let users = app.users(2).await;
    let (u, a) = (&users[0], &users[1]);
    let direct = app.accepted_direct(a, u).await;
    let before = message(&app, direct, a, "missed").await;

    let mut ws = Ws::connect(&base, u).await;
    ws.send(serde_json::json!({"type": "subscribe", "after_position": before - 1}))
        .await;
    let refused = ws.next_of("error").await;
    assert_eq!(refused["code"], "resume_unavailable");

    ws.subscribe(None).await;
    let live = message(&app, direct, a, "live").await;
    assert_eq!(ws.event().await["position"], live);
}
