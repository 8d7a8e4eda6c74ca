//! Sessions and password change: each login is a session with its client
//! and address; signing one out (or every other, or changing the password)
//! stops its refresh token, its access tokens on every node, and its open
//! sockets.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway_client::{Ended, Ws, app_without_gateway, gateway_node, start};
use crate::support::{Resp, TestApp, User};
use chat_gateway::GatewayConfig;

const PASSWORD: &str = "correct horse battery";

/// Log `name` in again from a client calling itself `agent`.
async fn login(app: &TestApp, name: &str, password: &str, agent: &str) -> Resp {
    app.call_with(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"username": name, "password": password})),
        &[("User-Agent", agent)],
    )
    .await
}

fn session(r: &Resp) -> User {
    assert_eq!(r.status, 200, "{}", r.raw);
    User {
        id: r.id("user_id"),
        token: r.body["access_token"].as_str().unwrap().to_owned(),
        refresh: r.body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn sessions(app: &TestApp, who: &User) -> Vec<Value> {
    let r = app.get("/v1/me/sessions", who).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["items"].as_array().unwrap().clone()
}

async fn refresh(app: &TestApp, who: &User) -> Resp {
    app.call(
        Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": who.refresh})),
    )
    .await
}

#[tokio::test]
async fn each_login_is_a_session_that_can_be_signed_out_with_its_tokens() {
    let app = TestApp::spawn().await;
    let first = app.register("sal").await;
    let phone = session(&login(&app, "sal", PASSWORD, "Phone/1.0").await);
    let laptop = session(&login(&app, "sal", PASSWORD, "Laptop/2.0").await);
    let eve = app.register("eve_s").await;

    let listed = sessions(&app, &phone).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let mine: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["user_agent"], "Phone/1.0");
    assert_eq!(mine[0]["ip"], "127.0.0.1");
    let laptop_id = listed
        .iter()
        .find(|s| s["user_agent"] == "Laptop/2.0")
        .unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else's session, or none: not found, and nothing changes.
    app.delete(&format!("/v1/me/sessions/{laptop_id}"), &eve)
        .await
        .problem(404, "session_not_found");
    app.delete("/v1/me/sessions/not-a-uuid", &phone)
        .await
        .problem(400, "invalid_id");
    assert_eq!(app.get("/v1/me", &laptop).await.status, 200);

    // Signed out from the phone: the laptop's access token stops at once,
    // and so does its refresh token.
    let r = app
        .delete(&format!("/v1/me/sessions/{laptop_id}"), &phone)
        .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    app.get("/v1/me", &laptop)
        .await
        .problem(401, "session_revoked");
    refresh(&app, &laptop)
        .await
        .problem(401, "invalid_refresh_token");
    assert_eq!(sessions(&app, &phone).await.len(), 2);

    // Every other one: the registration's session goes, the phone stays,
    // and its refresh keeps working (in the same session).
    let r = app.delete("/v1/me/sessions", &phone).await;
    assert_eq!(r.status, 204, "{}", r.raw);
    app.get("/v1/me", &first)
        .await
        .problem(401, "session_revoked");
    let renewed = session(&refresh(&app, &phone).await);
    let left = sessions(&app, &renewed).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
    assert_eq!(left[0]["session_id"], mine[0]["session_id"]);

    // Logging out is signing the session out too.
    let r = app
        .call(
            Method::POST,
            "/v1/auth/logout",
            None,
            Some(json!({"refresh_token": renewed.refresh})),
        )
        .await;
    assert_eq!(r.status, 204);
    app.get("/v1/me", &renewed)
        .await
        .problem(401, "session_revoked");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_signs_out_the_others() {
    let app = TestApp::spawn().await;
    let me = app.register("pat").await;
    let other = session(&login(&app, "pat", PASSWORD, "Tablet").await);
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let r = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&me.token),
            Some(change("wrong one!", "a new secret")),
        )
        .await;
    r.problem(403, "wrong_password");
    let r = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&me.token),
            Some(change(PASSWORD, "short")),
        )
        .await;
    r.problem(400, "invalid_password");
    // Refused changes changed nothing.
    assert_eq!(app.get("/v1/me", &other).await.status, 200);
    session(&login(&app, "pat", PASSWORD, "x").await);

    let r = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&me.token),
            Some(change(PASSWORD, "a new secret")),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    login(&app, "pat", PASSWORD, "x")
        .await
        .problem(401, "invalid_credentials");
    session(&login(&app, "pat", "a new secret", "x").await);
    app.get("/v1/me", &other)
        .await
        .problem(401, "session_revoked");
    refresh(&app, &other)
        .await
        .problem(401, "invalid_refresh_token");
    assert_eq!(
        app.get("/v1/me", &me).await.status,
        200,
        "the caller's session stays"
    );
}

#[tokio::test]
async fn a_signed_out_session_is_refused_and_its_socket_closed_on_another_node() {
    let app = app_without_gateway().await;
    let config = GatewayConfig {
        ping_interval: Duration::from_millis(250),
        ..GatewayConfig::default()
    };
    let (base, node) = gateway_node(&app, config).await;
    start(node);
    let me = app.register("gil").await;
    let laptop = session(&login(&app, "gil", PASSWORD, "Laptop").await);
    let mut socket = Ws::connect(&base, &laptop).await;
    socket.subscribe(None).await;
    let mut stays = Ws::connect(&base, &me).await;
    stays.subscribe(None).await;

    let r = app.delete("/v1/me/sessions", &me).await;
    assert_eq!(r.status, 204, "{}", r.raw);
    // The gateway node learns it from the database, not from this one.
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), socket.ended())
            .await
            .expect("closed within the reload and a ping"),
        Ended::Close(4003)
    );
    // And that node refuses its access token.
    let refused = reqwest::Client::new()
        .get(format!("{base}/v1/presence?user_ids={}", me.id))
        .bearer_auth(&laptop.token)
        .send()
        .await
        .unwrap();
    let refused = Resp::read(refused).await;
    refused.problem(401, "session_revoked");
    let alive = tokio::time::timeout(Duration::from_secs(1), stays.ended()).await;
    assert!(alive.is_err(), "the caller's own socket stays: {alive:?}");
}
