//! `GET /openapi.json`: an OpenAPI 3.1 document of every route the app
//! serves, built from the handlers themselves.

use std::collections::BTreeSet;

use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The Auth and Commands tables of the API contract (`POST /v1/media` is
/// not built yet), and the operational routes.
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/me/sessions"),
    ("delete", "/v1/me/sessions"),
    ("delete", "/v1/me/sessions/{session_id}"),
    ("put", "/v1/me/password"),
    ("delete", "/v1/me"),
    ("put", "/v1/me/email"),
    ("post", "/v1/auth/verify-email"),
    ("post", "/v1/auth/password-reset"),
    ("post", "/v1/auth/password-reset/confirm"),
    ("post", "/v1/me/mfa/totp"),
    ("delete", "/v1/me/mfa/totp"),
    ("post", "/v1/me/mfa/totp/enable"),
    ("post", "/v1/auth/login/mfa"),
    ("get", "/v1/me/export"),
    ("put", "/v1/me/profile"),
    ("put", "/v1/me/settings"),
    ("put", "/v1/me/status"),
    ("post", "/v1/users/{user_id}/block"),
    ("delete", "/v1/users/{user_id}/block"),
    ("post", "/v1/chats/direct"),
    ("post", "/v1/chats/{chat_id}/accept"),
    ("post", "/v1/chats/{chat_id}/reject"),
    ("post", "/v1/chats/{chat_id}/block"),
    ("post", "/v1/chats/{chat_id}/unblock"),
    ("post", "/v1/chats/group"),
    ("post", "/v1/chats/channel"),
    ("post", "/v1/chats/{chat_id}/subscribe"),
    ("get", "/v1/chats/search"),
    ("patch", "/v1/chats/{chat_id}"),
    ("post", "/v1/chats/{chat_id}/members"),
    ("delete", "/v1/chats/{chat_id}/members/{user_id}"),
    ("post", "/v1/chats/{chat_id}/admins/{user_id}"),
    ("delete", "/v1/chats/{chat_id}/admins/{user_id}"),
    ("post", "/v1/chats/{chat_id}/leave"),
    ("post", "/v1/chats/{chat_id}/mute"),
    ("post", "/v1/chats/{chat_id}/unmute"),
    ("post", "/v1/chats/{chat_id}/archive"),
    ("post", "/v1/chats/{chat_id}/unarchive"),
    ("delete", "/v1/chats/{chat_id}"),
    ("post", "/v1/chats/{chat_id}/messages"),
    ("patch", "/v1/chats/{chat_id}/messages/{message_id}"),
    ("delete", "/v1/chats/{chat_id}/messages/{message_id}"),
    (
        "put",
        "/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}",
    ),
    (
        "delete",
        "/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}",
    ),
    ("post", "/v1/chats/{chat_id}/messages/{message_id}/pin"),
    ("delete", "/v1/chats/{chat_id}/messages/{message_id}/pin"),
    ("post", "/v1/chats/{chat_id}/read"),
    ("post", "/v1/chats/{chat_id}/delivered"),
    ("put", "/v1/chats/{chat_id}/messages/{message_id}/votes"),
    (
        "post",
        "/v1/chats/{chat_id}/messages/{message_id}/poll/close",
    ),
    ("get", "/v1/me"),
    ("get", "/v1/chats"),
    ("get", "/v1/chats/{chat_id}"),
    ("get", "/v1/chats/{chat_id}/messages"),
    ("get", "/v1/chats/{chat_id}/messages/{message_id}/receipts"),
    ("get", "/v1/chats/{chat_id}/messages/{message_id}/edits"),
    ("get", "/v1/media"),
    ("get", "/v1/presence"),
    ("put", "/v1/chats/{chat_id}/members/{user_id}/role"),
    ("put", "/v1/chats/{chat_id}/owner"),
    ("post", "/v1/chats/{chat_id}/bans/{user_id}"),
    ("delete", "/v1/chats/{chat_id}/bans/{user_id}"),
    ("get", "/v1/chats/{chat_id}/bans"),
    ("post", "/v1/chats/{chat_id}/invites"),
    ("delete", "/v1/chats/{chat_id}/invites/{code}"),
    ("get", "/v1/invites/{code}"),
    ("post", "/v1/invites/{code}/join"),
    ("delete", "/v1/media/{media_id}"),
    ("get", "/v1/search/messages"),
    ("get", "/v1/users"),
    ("get", "/v1/users/{user_id}"),
    ("get", "/v1/push/vapid-public-key"),
    ("post", "/v1/me/push-subscriptions"),
    ("get", "/v1/me/push-subscriptions"),
    ("delete", "/v1/me/push-subscriptions/{subscription_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

async fn document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .expect("the request reaches the app");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let mut doc: Value = res.json().await.expect("a JSON document");
    merge_all_of(&mut doc);
    doc
}

/// Component schemas composed with `allOf` (an answer flattening the
/// common command answer) as the one object they describe: their members'
/// properties and required fields together, `$ref`s followed.
fn merge_all_of(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].clone();
    let Some(all) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for s in all.values_mut() {
        let Some(parts) = s.get("allOf").and_then(Value::as_array).cloned() else {
            continue;
        };
        let (mut props, mut required) = (serde_json::Map::new(), Vec::new());
        for part in parts {
            let part = match part["$ref"].as_str() {
                Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
                None => part,
            };
            if let Some(p) = part["properties"].as_object() {
                props.extend(p.clone());
            }
            if let Some(r) = part["required"].as_array() {
                required.extend(r.iter().cloned());
            }
        }
        *s = json!({"type": "object", "properties": props, "required": required});
    }
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push(((*m).to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// A component schema, following one `$ref`.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s
}

fn properties(s: &Value) -> BTreeSet<String> {
    s["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn ref_name(v: &Value) -> &str {
    v["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("a component $ref: {v}"))
}

/// The schema of an operation's request body or of one of its answers.
fn body_schema<'a>(doc: &'a Value, content: &Value) -> &'a Value {
    schema(
        doc,
        ref_name(&content["content"]["application/json"]["schema"]),
    )
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_route_of_the_contract() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1"), "{version}");
    assert!(doc["info"]["title"].is_string());

    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    for (method, path) in CONTRACT {
        assert!(
            documented.contains(&((*method).to_owned(), (*path).to_owned())),
            "{} {path} is missing from the document",
            method.to_uppercase()
        );
    }
    let ids: Vec<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| {
            op["operationId"]
                .as_str()
                .expect("an operationId")
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<BTreeSet<_>>().len(),
        "operationIds are unique: {ids:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let (chat, user, message) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (method, path, op) in operations(&doc) {
        let url = path
            .replace("{chat_id}", &chat.to_string())
            .replace("{user_id}", &user.to_string())
            .replace("{message_id}", &message.to_string())
            .replace("{media_id}", &Uuid::new_v4().to_string())
            .replace("{emoji}", "%F0%9F%91%8D");
        let url = if path.ends_with("/messages/{message_id}") && method == "delete" {
            format!("{url}?for=me")
        } else {
            url
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        let body = op.get("requestBody").map(|_| json!({}));
        let r = app.call(method.clone(), &url, None, body).await;
        if path.starts_with("/v1/auth/") {
            // No body fits: the route is there and says so.
            r.problem(400, "invalid_body");
        } else if path.starts_with("/v1/") {
            // Commands refuse a caller without a token before anything else.
            r.problem(401, "missing_token");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{method} {url}: {}", r.raw);
        }
    }
}

#[tokio::test]
async fn commands_need_a_bearer_token_and_document_their_problems() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    schema(&doc, "Problem");

    for (method, path, op) in operations(&doc) {
        let bearer = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let needs_token = path.starts_with("/v1/") && !path.starts_with("/v1/auth/");
        // Sessions and passwords are credentials, not events, like the
        // push devices below.
        let credentials = path.starts_with("/v1/me/sessions")
            || path == "/v1/me/password"
            || (path == "/v1/me" && method == "delete")
            || path == "/v1/me/email"
            || path.starts_with("/v1/me/mfa/");
        // Queries need a token too, but take no Idempotency-Key; nor do the
        // media routes, which stream past the idempotency layer (an upload
        // retried is a new item; a delete repeated changes nothing;
        // docs/media.md); nor the push devices, which are device
        // credentials, not events (registering an endpoint again answers
        // the same id; docs/push.md).
        let is_command = needs_token
            && method != "get"
            && !path.starts_with("/v1/media")
            && !path.starts_with("/v1/me/push-subscriptions")
            && !credentials;
        assert_eq!(
            bearer, needs_token,
            "{method} {path}: security {}",
            op["security"]
        );

        let codes: Vec<&str> = op["x-error-codes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let problems: Vec<&String> = op["responses"]
            .as_object()
            .expect("responses")
            .iter()
            .filter(|(status, _)| status.starts_with('4') || status.starts_with('5'))
            .map(|(status, res)| {
                let content = &res["content"]["application/problem+json"]["schema"];
                assert_eq!(ref_name(content), "Problem", "{method} {path} {status}");
                status
            })
            .collect();
        if needs_token {
            assert!(!problems.is_empty(), "{method} {path} documents no problem");
            for code in chat_common::openapi::TOKEN_CODES {
                assert!(codes.contains(&code), "{method} {path} lacks {code}");
            }
            assert!(problems.iter().any(|s| *s == "401"), "{method} {path}");
        }
        if is_command {
            let headers: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "header")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert!(headers.contains(&"Idempotency-Key"), "{method} {path}");
        }
        if path.starts_with("/v1/auth/") {
            assert!(codes.contains(&"rate_limited"), "{method} {path}");
        }
        // Every listed code has its status among the responses.
        for code in &codes {
            let described = problems.iter().any(|s| {
                op["responses"][s.as_str()]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(&format!("`{code}`")))
            });
            assert!(described, "{method} {path}: {code} is in no response");
        }
    }
}

#[tokio::test]
async fn request_body_schemas_accept_every_field_the_server_accepts() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();

    let send = op("post", "/v1/chats/{chat_id}/messages");
    let body = body_schema(&doc, &send["requestBody"]);
    let fields = [
        "client_msg_id",
        "kind",
        "text",
        "media_id",
        "reply_to",
        "forward_of",
        "mentions",
        "poll",
        "location",
    ];
    assert_eq!(
        properties(body),
        fields.iter().map(|f| (*f).to_owned()).collect(),
        "{body}"
    );
    let required: BTreeSet<&str> = body["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(required, BTreeSet::from(["client_msg_id", "kind"]));
    let kinds: BTreeSet<&str> = schema(&doc, "MessageKind")["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "text", "image", "video", "audio", "voice", "file", "poll", "location"
        ])
    );

    let settings = body_schema(&doc, &op("put", "/v1/me/settings")["requestBody"]);
    assert_eq!(
        properties(settings),
        BTreeSet::from([
            "read_receipts".to_owned(),
            "last_seen_visible_to".to_owned(),
            "accept_requests_from".to_owned(),
            "push_preview".to_owned(),
        ])
    );
    assert!(settings["required"].as_array().is_none_or(Vec::is_empty));
    let visibility: BTreeSet<&str> = schema(&doc, "LastSeenVisibility")["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        visibility,
        BTreeSet::from(["everyone", "contacts", "nobody"])
    );

    let register = body_schema(&doc, &op("post", "/v1/auth/register")["requestBody"]);
    assert_eq!(
        properties(register),
        BTreeSet::from([
            "username".to_owned(),
            "password".to_owned(),
            "display_name".to_owned(),
            "email".to_owned()
        ])
    );
    // The attribute needs a literal: each copy is checked against the one
    // the server validates with.
    for body in [
        register,
        body_schema(&doc, &op("put", "/v1/me/email")["requestBody"]),
    ] {
        assert_eq!(
            body["properties"]["email"]["pattern"],
            chat_auth::mail::ADDRESS_PATTERN,
        );
    }
    let group = body_schema(&doc, &op("post", "/v1/chats/group")["requestBody"]);
    assert_eq!(
        properties(group),
        BTreeSet::from([
            "title".to_owned(),
            "member_ids".to_owned(),
            "description".to_owned()
        ])
    );
}

#[tokio::test]
async fn documented_answers_match_the_real_answers() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let answer = |method: &str, path: &str, status: &str| {
        properties(body_schema(
            &doc,
            &doc["paths"][path][method]["responses"][status],
        ))
    };

    let r = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({ "username": "openapi_alice", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(keys(&r.body), answer("post", "/v1/auth/register", "201"));

    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let r = app.direct(a, b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(keys(&r.body), answer("post", "/v1/chats/direct", "201"));
    let chat = app.accepted_direct(a, b).await;

    let r = app.send(chat, a, "m1", "hello").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(
        keys(&r.body),
        answer("post", "/v1/chats/{chat_id}/messages", "201")
    );
    let message = r.id("message_id");

    let r = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{chat}/messages/{message}/reactions/%F0%9F%91%8D"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        keys(&r.body),
        answer(
            "put",
            "/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}",
            "200"
        )
    );

    let r = app.post(&format!("/v1/chats/{chat}/mute"), a, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        keys(&r.body),
        answer("post", "/v1/chats/{chat_id}/mute", "200")
    );

    let r = app
        .call(
            Method::PUT,
            "/v1/me/settings",
            Some(&a.token),
            Some(json!({ "last_seen_visible_to": "contacts" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(keys(&r.body), answer("put", "/v1/me/settings", "200"));

    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(keys(&r.body), answer("get", "/readyz", "200"));
}
