//! Typing and presence across two gateway nodes sharing Redis.

use std::time::Duration;

use crate::gateway_client::{Ws, app_without_gateway, gateway_node, redis_config, start};
use chat_gateway::GatewayConfig;
use serde_json::json;
use uuid::Uuid;

/// Two nodes over one database and one Redis prefix.
async fn two_nodes(
    app: &crate::support::TestApp,
    tune: impl Fn(&mut GatewayConfig),
) -> (String, String, GatewayConfig) {
    let mut config = redis_config();
    tune(&mut config);
    let (a, node_a) = gateway_node(app, config.clone()).await;
    let (b, node_b) = gateway_node(app, config.clone()).await;
    start(node_a);
    start(node_b);
    (a, b, config)
}

#[tokio::test]
async fn typing_on_one_node_reaches_a_member_on_another_and_expires_without_refresh() {
    let app = app_without_gateway().await;
    let (node_a, node_b, _) = two_nodes(&app, |c| c.typing_ttl = Duration::from_secs(1)).await;
    let users = app.users(3).await;
    let (a, b, c) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[b, c], "typing").await;
    // Both nodes know the group before anyone types.
    let mut on_a = Ws::connect(&node_a, a).await;
    on_a.subscribe(None).await;
    let mut on_b = Ws::connect(&node_b, b).await;
    on_b.subscribe(None).await;
    wait_until_member(&mut on_a, chat).await;
    wait_until_member(&mut on_b, chat).await;

    on_a.send(json!({"type": "typing", "chat_id": chat, "state": "start"}))
        .await;
    // (The probes above sent `stop`s; skip them.)
    let mut t = on_b.next_of("typing").await;
    while t["state"] == "stop" {
        t = on_b.next_of("typing").await;
    }
    assert_eq!(t["chat_id"], chat.to_string());
    assert_eq!(t["user_id"], a.id.to_string());
    assert_eq!(t["state"], "start");
    // No refresh: it stops by itself after the TTL.
    let t = on_b.next_of("typing").await;
    assert_eq!(t["state"], "stop");
    assert_eq!(t["user_id"], a.id.to_string());
}

/// Typing succeeds once the node has routed the chat's creation (until
/// then it answers `not_a_member`).
async fn wait_until_member(ws: &mut Ws, chat: Uuid) {
    for _ in 0..100 {
        ws.send(json!({"type": "typing", "chat_id": chat, "state": "stop"}))
            .await;
        ws.send(json!({"type": "ping"})).await;
        let f = ws.next(crate::gateway_client::WAIT).await.expect("open");
        if f["type"] == "pong" {
            return;
        }
        let _ = ws.next_of("pong").await;
        // Slower than the socket's typing allowance refills (5/s), so the
        // probe is never refused as a flood.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the node never learned the membership");
}

#[tokio::test]
async fn presence_goes_offline_on_every_node_when_the_last_device_disconnects() {
    let app = app_without_gateway().await;
    let (node_a, node_b, _) = two_nodes(&app, |_| {}).await;
    let users = app.users(3).await;
    let (a, b, c) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[b, c], "presence").await;
    let mut watcher = Ws::connect(&node_b, b).await;
    wait_until_member(&mut watcher, chat).await;

    let phone = Ws::connect(&node_a, a).await;
    let p = watcher.next_of("presence").await;
    assert_eq!(
        (p["user_id"].as_str(), p["status"].as_str()),
        (Some(&*a.id.to_string()), Some("online"))
    );
    let mut laptop = Ws::connect(&node_b, a).await;
    laptop
        .send(json!({"type": "presence", "status": "away"}))
        .await;
    phone.close().await;
    // Still online on the laptop (away is only that device's status, and
    // the phone was online until it left): now away, not offline.
    let p = watcher.next_of("presence").await;
    assert_eq!(p["status"], "away");
    laptop.close().await;
    let p = watcher.next_of("presence").await;
    assert_eq!(p["status"], "offline");
    assert!(p["last_seen"].is_string(), "{p}");

    let pool = app.db().pool(1).await;
    let seen: Option<(time::OffsetDateTime,)> =
        sqlx::query_as("SELECT at FROM gateway.last_seen WHERE user_id = $1")
            .bind(a.id)
            .fetch_optional(&pool)
            .await
            .expect("the gateway's table");
    let (seen,) = seen.expect("last seen is written on the last disconnect");

    // It is not in the log, so it lives outside the read models: a rebuild
    // of every projection leaves it as it was (and the profile shows it).
    chat_projector::rebuild(&pool, &*app.state.store, None)
        .await
        .expect("the rebuild");
    let (after,): (time::OffsetDateTime,) =
        sqlx::query_as("SELECT at FROM gateway.last_seen WHERE user_id = $1")
            .bind(a.id)
            .fetch_one(&pool)
            .await
            .expect("still there");
    assert_eq!(after, seen);
    let me = app
        .call(reqwest::Method::GET, "/v1/me", Some(&a.token), None)
        .await;
    assert!(me.body["last_seen_at"].is_string(), "{}", me.raw);
}

#[tokio::test]
async fn a_node_that_dies_without_closing_leaves_its_users_offline_after_the_heartbeat_ttl() {
    let app = app_without_gateway().await;
    let mut config = redis_config();
    config.presence_ttl = Duration::from_secs(1);
    let (node, gateway) = gateway_node(&app, config.clone()).await;
    start(gateway);
    let users = app.users(3).await;
    let (a, b, c) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[b, c], "dead node").await;
    let mut watcher = Ws::connect(&node, b).await;
    wait_until_member(&mut watcher, chat).await;

    // A node that registered `a` once, announced it, and died: nothing
    // refreshes or removes its entry.
    let client = redis::Client::open(config.redis_url.clone().expect("a URL")).expect("a client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let (secs, micros): (u64, u64) = redis::cmd("TIME")
        .query_async(&mut conn)
        .await
        .expect("TIME");
    let now_ms = secs * 1000 + micros / 1000;
    let key = format!("{}:presence:{}", config.redis_prefix, a.id);
    let _: () = redis::pipe()
        .cmd("ZADD")
        .arg(&key)
        .arg(now_ms + 1000)
        .arg("dead-node:1")
        .cmd("HSET")
        .arg(format!("{key}:s"))
        .arg("dead-node:1")
        .arg("online")
        .query_async(&mut conn)
        .await
        .expect("presence written");
    let online = json!({"type": "presence", "user_id": a.id, "status": "online"});
    let _: () = redis::cmd("PUBLISH")
        .arg(format!("{}:signals", config.redis_prefix))
        .arg(online.to_string())
        .query_async(&mut conn)
        .await
        .expect("published");

    assert_eq!(watcher.next_of("presence").await["status"], "online");
    let p = watcher.next_of("presence").await;
    assert_eq!(p["status"], "offline");
    assert_eq!(p["user_id"], a.id.to_string());
}

/// One socket cannot flood a chat with typing (or presence) frames: past
/// its burst they are dropped, and it is told so; the others see at most
/// the burst.
#[tokio::test]
async fn a_socket_flooding_typing_frames_is_limited() {
    let app = crate::support::TestApp::spawn().await;
    let users = app.users(3).await;
    let (a, b, c) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[b, c], "flood").await;
    let mut on_a = Ws::connect(&app.base, a).await;
    on_a.subscribe(None).await;
    let mut on_b = Ws::connect(&app.base, b).await;
    on_b.subscribe(None).await;
    wait_until_member(&mut on_a, chat).await;
    // Let the probe's tokens come back, then flood.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..40 {
        let state = if i % 2 == 0 { "start" } else { "stop" };
        on_a.send(json!({"type": "typing", "chat_id": chat, "state": state}))
            .await;
    }
    on_a.send(json!({"type": "ping"})).await;
    let mut refused = 0;
    loop {
        let f = on_a.next(crate::gateway_client::WAIT).await.expect("open");
        match f["type"].as_str() {
            Some("pong") => break,
            Some("error") if f["code"] == "rate_limited" => refused += 1,
            _ => {}
        }
    }
    assert!(refused >= 25, "most of the flood is refused: {refused}");
    // What reached b by now, counted up to the answer of a later ping.
    tokio::time::sleep(Duration::from_millis(500)).await;
    on_b.send(json!({"type": "ping"})).await;
    let mut typing = 0;
    loop {
        let f = on_b.next(crate::gateway_client::WAIT).await.expect("open");
        match f["type"].as_str() {
            Some("pong") => break,
            Some("typing") => typing += 1,
            _ => {}
        }
    }
    assert!(typing <= 15, "the others see at most the burst: {typing}");
}

/// One user cannot hold a node's sockets: past the cap, the upgrade is a
/// 429 `too_many_sockets`.
#[tokio::test]
async fn the_sockets_of_one_user_are_capped() {
    let app = crate::support::TestApp::spawn().await;
    let users = app.users(1).await;
    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(Ws::connect(&app.base, &users[0]).await);
    }
    let refused =
        tokio_tungstenite::connect_async(crate::gateway_client::ws_url(&app.base, &users[0].token))
            .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 429),
        other => panic!("the 11th socket was not refused: {other:?}"),
    }
    drop(open);
}

/// A user-level block hides typing, presence and last seen between the
/// two, both ways, while everyone else still sees them.
#[tokio::test]
async fn a_block_stops_typing_presence_and_last_seen_between_the_pair() {
    let app = crate::support::TestApp::spawn().await;
    let users = app.users(3).await;
    let (a, b, c) = (&users[0], &users[1], &users[2]);
    let chat = app.group(a, &[b, c], "blocked").await;
    let blocked = app
        .post(&format!("/v1/users/{}/block", a.id), b, None)
        .await;
    assert!(blocked.status.is_success(), "{}", blocked.raw);
    let at = blocked.body["position"].as_u64().unwrap();
    let mut on_b = Ws::connect(&app.base, b).await;
    on_b.subscribe(Some(at - 1)).await;
    on_b.events_through(at).await; // the node has routed the block
    let mut on_c = Ws::connect(&app.base, c).await;
    on_c.subscribe(None).await;
    let mut on_a = Ws::connect(&app.base, a).await;
    on_a.subscribe(None).await;
    wait_until_member(&mut on_a, chat).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    on_a.send(json!({"type": "typing", "chat_id": chat, "state": "start"}))
        .await;
    let t = on_c.next_of("typing").await;
    assert_eq!(t["user_id"], a.id.to_string());
    // b answers a later ping having seen nothing of a's typing or presence.
    tokio::time::sleep(Duration::from_millis(300)).await;
    on_b.send(json!({"type": "ping"})).await;
    loop {
        let f = on_b.next(crate::gateway_client::WAIT).await.expect("open");
        if f["type"] == "pong" {
            break;
        }
        assert!(
            f["user_id"] != a.id.to_string(),
            "b saw a's typing or presence: {f}"
        );
    }

    // Last seen: c sees a's once a is gone; b never does.
    on_a.close().await;
    let profile = |who: &crate::support::User| {
        let app = &app;
        let token = who.token.clone();
        async move {
            app.call(
                reqwest::Method::GET,
                &format!("/v1/users/{}", a.id),
                Some(&token),
                None,
            )
            .await
        }
    };
    let mut seen = serde_json::Value::Null;
    for _ in 0..100 {
        seen = profile(c).await.body["last_seen_at"].clone();
        if !seen.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!seen.is_null(), "c sees a's last seen");
    assert!(profile(b).await.body["last_seen_at"].is_null());
}

/// A database from before `gateway.last_seen`: its migration takes over
/// what the gateway had written into the users read model.
#[tokio::test]
async fn the_last_seen_migration_keeps_what_the_read_model_held() {
    let app = crate::support::TestApp::spawn().await;
    let a = app.register("seen.before").await;
    let pool = app.db().pool(1).await;
    sqlx::raw_sql(
        "ALTER TABLE rm_users.users ADD COLUMN last_seen_at timestamptz; \
         DELETE FROM gateway.last_seen",
    )
    .execute(&pool)
    .await
    .expect("the old shape");
    sqlx::query(
        "UPDATE rm_users.users SET last_seen_at = '2026-11-30T10:00:00Z' WHERE user_id = $1",
    )
    .bind(a.id)
    .execute(&pool)
    .await
    .expect("an old last seen");
    sqlx::raw_sql(include_str!(
        "../../crates/gateway/migrations/20261203000100_last_seen.sql"
    ))
    .execute(&pool)
    .await
    .expect("the migration runs again on the old shape");
    let (at,): (time::OffsetDateTime,) =
        sqlx::query_as("SELECT at FROM gateway.last_seen WHERE user_id = $1")
            .bind(a.id)
            .fetch_one(&pool)
            .await
            .expect("taken over");
    assert_eq!(at, time::macros::datetime!(2026-11-30 10:00 UTC));
}
