//! Status and presence: a chosen status with its text live and over REST,
//! `invisible` shown offline, strangers and bad input, auto-away on a real
//! node, and two nodes over Redis.

use std::time::Duration;

use chat_gateway::GatewayConfig;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{Ws, app_without_gateway, gateway_node, redis_config, start};
use crate::support::{Resp, TestApp, User};

async fn set_status(app: &TestApp, who: &User, body: Value) -> Resp {
    app.call(Method::PUT, "/v1/me/status", Some(&who.token), Some(body))
        .await
}

async fn presence(base: &str, app: &TestApp, who: &User, users: &[&User]) -> Resp {
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    let res = app
        .http
        .get(format!("{base}/v1/presence?user_ids={}", ids.join(",")))
        .bearer_auth(&who.token)
        .send()
        .await
        .expect("the request reaches the gateway");
    Resp::read(res).await
}

/// The next presence frame about `user`.
async fn presence_of(ws: &mut Ws, user: &User) -> Value {
    loop {
        let f = ws.next_of("presence").await;
        if f["user_id"] == user.id.to_string() {
            return f;
        }
    }
}

fn item<'a>(r: &'a Resp, user: &User) -> &'a Value {
    r.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["user_id"] == user.id.to_string()))
        .unwrap_or_else(|| panic!("{} in {}", user.id, r.raw))
}

#[tokio::test]
async fn a_chosen_status_reaches_contacts_live_and_over_rest_but_not_strangers() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let (alice, bob, stranger) = (&u[0], &u[1], &u[2]);
    app.accepted_direct(alice, bob).await;
    let mut watcher = Ws::connect(&app.base, bob).await;
    watcher.subscribe(None).await;
    let mut phone = Ws::connect(&app.base, alice).await;
    phone.subscribe(None).await;
    assert_eq!(presence_of(&mut watcher, alice).await["status"], "online");

    let r = set_status(
        &app,
        alice,
        json!({"status": "dnd", "text": "In a meeting"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let f = presence_of(&mut watcher, alice).await;
    assert_eq!(
        (f["status"].clone(), f["text"].clone()),
        (json!("dnd"), json!("In a meeting"))
    );
    let seen = presence(&app.base, &app, bob, &[alice, stranger]).await;
    assert_eq!(seen.status, 200, "{}", seen.raw);
    assert_eq!(item(&seen, alice)["status"], "dnd");
    assert_eq!(item(&seen, alice)["text"], "In a meeting");
    let unseen = presence(&app.base, &app, stranger, &[alice]).await;
    assert_eq!(item(&unseen, alice)["status"], "offline");
    assert_eq!(item(&unseen, alice)["text"], Value::Null);

    // Invisible: connected, shown offline to everyone else.
    set_status(&app, alice, json!({"status": "invisible"})).await;
    let f = presence_of(&mut watcher, alice).await;
    assert_eq!(
        (f["status"].clone(), f["text"].clone()),
        (json!("offline"), Value::Null)
    );
    let seen = presence(&app.base, &app, bob, &[alice]).await;
    assert_eq!(item(&seen, alice)["status"], "offline");
    let own = presence(&app.base, &app, alice, &[alice]).await;
    assert_eq!(
        item(&own, alice)["status"],
        "offline",
        "the rule shows what others see"
    );

    // Back online, with a status that ends.
    let ends = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let r = set_status(
        &app,
        alice,
        json!({"status": "online", "text": "back", "expires_at": ends.format(&time::format_description::well_known::Rfc3339).expect("a time")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let f = presence_of(&mut watcher, alice).await;
    assert_eq!(
        (f["status"].clone(), f["text"].clone()),
        (json!("online"), json!("back"))
    );
}

#[tokio::test]
async fn bad_status_and_presence_requests_are_refused() {
    let app = TestApp::spawn().await;
    let u = app.users(1).await;
    let before = app.event_count().await;
    set_status(
        &app,
        &u[0],
        json!({"status": "away", "text": "x".repeat(201)}),
    )
    .await
    .problem(400, "status_text_too_long");
    set_status(
        &app,
        &u[0],
        json!({"status": "away", "expires_at": "2020-01-01T00:00:00Z"}),
    )
    .await
    .problem(400, "status_expiry_in_past");
    set_status(&app, &u[0], json!({"status": "asleep"}))
        .await
        .problem(400, "invalid_body");
    assert_eq!(app.event_count().await, before);

    let many: Vec<String> = (0..101).map(|_| Uuid::new_v4().to_string()).collect();
    for query in [many.join(","), "not-an-id".to_owned(), String::new()] {
        let res = app
            .http
            .get(format!("{}/v1/presence?user_ids={query}", app.base))
            .bearer_auth(&u[0].token)
            .send()
            .await
            .expect("the request reaches the gateway");
        Resp::read(res).await.problem(400, "invalid_query");
    }
    let res = app
        .http
        .get(format!("{}/v1/presence?user_ids={}", app.base, u[0].id))
        .send()
        .await
        .expect("the request reaches the gateway");
    Resp::read(res).await.problem(401, "missing_token");
}

#[tokio::test]
async fn a_silent_socket_turns_away_and_comes_back_with_its_next_frame() {
    let app = app_without_gateway().await;
    let config = GatewayConfig {
        ping_interval: Duration::from_millis(200),
        away_after: Duration::from_secs(1),
        ..GatewayConfig::default()
    };
    let (base, node) = gateway_node(&app, config).await;
    start(node);
    let u = app.users(2).await;
    let (idle, watcher_user) = (&u[0], &u[1]);
    let chat = app.accepted_direct(idle, watcher_user).await;
    let mut watcher = Ws::connect(&base, watcher_user).await;
    let at = crate::gateway_client::message(&app, chat, watcher_user, "hi").await;
    watcher.subscribe_past(at).await;
    let mut quiet = Ws::connect(&base, idle).await;
    quiet.subscribe(None).await;
    assert_eq!(presence_of(&mut watcher, idle).await["status"], "online");
    // The watcher keeps talking; the other sends nothing.
    // Bounded: pings for up to 15 s before giving up.
    let mut away = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        watcher.send(json!({"type": "ping"})).await;
        let f = watcher
            .next(Duration::from_millis(300))
            .await
            .unwrap_or(Value::Null);
        if f["type"] == "presence" && f["user_id"] == idle.id.to_string() {
            away = f;
            break;
        }
    }
    assert_eq!(away["status"], "away");
    quiet.send(json!({"type": "ping"})).await;
    assert_eq!(presence_of(&mut watcher, idle).await["status"], "online");
}

#[tokio::test]
async fn a_status_set_with_a_socket_on_one_node_shows_on_another_over_redis() {
    let app = app_without_gateway().await;
    let config = redis_config();
    let (a, node_a) = gateway_node(&app, config.clone()).await;
    start(node_a);
    let (b, node_b) = gateway_node(&app, config).await;
    start(node_b);
    let u = app.users(2).await;
    let (alice, bob) = (&u[0], &u[1]);
    let chat = app.accepted_direct(alice, bob).await;
    let at = crate::gateway_client::message(&app, chat, bob, "hi").await;
    let mut watcher = Ws::connect(&b, bob).await;
    watcher.subscribe_past(at).await;
    let mut phone = Ws::connect(&a, alice).await;
    phone.subscribe(None).await;
    // Alice's socket is on node a; bob's node learns it over Redis.
    assert_eq!(presence_of(&mut watcher, alice).await["status"], "online");
    let r = set_status(
        &app,
        alice,
        json!({"status": "away", "text": "on the train"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let f = presence_of(&mut watcher, alice).await;
    assert_eq!(
        (f["status"].clone(), f["text"].clone()),
        (json!("away"), json!("on the train"))
    );
    let seen = presence(&b, &app, bob, &[alice]).await;
    assert_eq!(item(&seen, alice)["status"], "away");
    assert_eq!(item(&seen, alice)["text"], "on the train");
}
