//! FCM (HTTP v1) against a loopback server that checks what Google's
//! documentation says: the service account's RS256 assertion at the token
//! endpoint (JWT bearer grant), then `messages:send` with the access token,
//! the registration token, string data and a per-chat collapse key. FCM
//! itself cannot be reached from here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chat_push::fcm::FcmConfig;
use chat_testkit::TestDb;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::receiver::{key_pair, say, text};
use crate::support::{TestApp, User, test_config};

/// What the loopback FCM saw.
#[derive(Default)]
struct Seen {
    grants: usize,
    faults: Vec<String>,
    messages: Vec<Value>,
}

struct Fake {
    public_pem: String,
    base: String,
    seen: Mutex<Seen>,
}

async fn token(State(f): State<Arc<Fake>>, form: String) -> (StatusCode, Json<Value>) {
    let assertion = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .unwrap_or_default();
    let grant = form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[format!("{}/token", f.base)]);
    v.set_issuer(&["push@test-project.iam.gserviceaccount.com"]);
    let key = DecodingKey::from_rsa_pem(f.public_pem.as_bytes()).unwrap();
    let checked = jsonwebtoken::decode::<Value>(assertion, &key, &v);
    let mut seen = f.seen.lock().unwrap();
    match checked {
        Ok(c)
            if grant
                && c.claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging" =>
        {
            seen.grants += 1;
            (
                StatusCode::OK,
                Json(json!({"access_token": "at-1", "expires_in": 3600, "token_type": "Bearer"})),
            )
        }
        other => {
            seen.faults.push(format!("token: {other:?} grant={grant}"));
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_grant"})),
            )
        }
    }
}

async fn send(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut seen = f.seen.lock().unwrap();
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
        seen.faults.push("send without the access token".into());
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    let m = &body["message"];
    let strings = m["data"]
        .as_object()
        .is_some_and(|d| d.values().all(Value::is_string));
    if !strings || m["token"].as_str().is_none() {
        seen.faults.push(format!("malformed message {body}"));
        return (StatusCode::BAD_REQUEST, Json(json!({})));
    }
    if m["token"] == "gone-token" {
        return (
            StatusCode::NOT_FOUND,
            Json(
                json!({"error": {"code": 404, "status": "NOT_FOUND", "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
            ),
        );
    }
    seen.messages.push(m.clone());
    (
        StatusCode::OK,
        Json(json!({"name": "projects/test-project/messages/1"})),
    )
}

#[tokio::test]
async fn fcm_devices_get_one_data_message_per_burst_and_unregistered_ones_are_removed() {
    let (private_pem, public_pem) =
        key_pair(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(Fake {
        public_pem,
        base: base.clone(),
        seen: Mutex::new(Seen::default()),
    });
    let routes = Router::new()
        .route("/token", post(token))
        .route("/v1/projects/test-project/messages:send", post(send))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, routes).await });

    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.push.delay = Duration::from_millis(300);
    let mut fcm = FcmConfig::from_json(
        &json!({
            "type": "service_account",
            "project_id": "test-project",
            "client_email": "push@test-project.iam.gserviceaccount.com",
            "private_key": private_pem,
            "token_uri": format!("{base}/token"),
        })
        .to_string(),
    )
    .unwrap();
    fcm.endpoint = base.clone();
    config.push.fcm = Some(fcm);
    let app = TestApp::spawn_with(db, config).await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    for token in ["bob-phone", "gone-token"] {
        let r = app
            .post(
                "/v1/me/push-subscriptions",
                &bob,
                Some(json!({"kind": "fcm", "token": token})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
    }
    let r = app
        .post(
            "/v1/me/push-subscriptions",
            &bob,
            Some(json!({"kind": "apns", "token": "x"})),
        )
        .await;
    r.problem(400, "push_kind_not_configured");
    let r = app
        .post(
            "/v1/me/push-subscriptions",
            &bob,
            Some(json!({"kind": "fcm", "token": "has space"})),
        )
        .await;
    r.problem(400, "invalid_body");

    say(&app, chat, &alice, text("one")).await;
    say(&app, chat, &alice, text("two")).await;
    let mut covered = 0;
    for _ in 0..200 {
        {
            let seen = fake.seen.lock().unwrap();
            assert_eq!(seen.faults, Vec::<String>::new());
            covered = seen
                .messages
                .iter()
                .map(|m| m["data"]["count"].as_str().unwrap().parse::<u64>().unwrap())
                .sum();
        }
        let list = app.get("/v1/me/push-subscriptions", &bob).await;
        if covered >= 2 && list.body["items"].as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(covered, 2);
    let (m, grants) = {
        let seen = fake.seen.lock().unwrap();
        (seen.messages.last().unwrap().clone(), seen.grants)
    };
    assert_eq!(m["token"], "bob-phone");
    assert_eq!(m["data"]["type"], "message");
    assert_eq!(m["data"]["chat_id"], chat.to_string());
    assert_eq!(m["data"]["preview"], "two");
    assert_eq!(m["android"]["collapse_key"], chat.simple().to_string());
    assert_eq!(m["android"]["priority"], "NORMAL");
    assert_eq!(grants, 1, "one access token, reused");
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the unregistered token is gone: {items:?}");
    assert_eq!(items[0]["kind"], "fcm");
}
