//! Bad input across every command route: missing or garbage tokens, malformed
//! JSON, unknown fields, wrong types, malformed ids, oversized bodies. Each is
//! a problem+json answer with its code, and none of them appends anything.

use crate::support::{Resp, TestApp, User};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// One command route with a valid body (if it takes one).
struct Route {
    method: Method,
    /// With `{chat}`, `{direct}`, `{message}` and `{user}` placeholders.
    path: &'static str,
    body: Option<Value>,
}

fn route(method: Method, path: &'static str, body: Option<Value>) -> Route {
    Route { method, path, body }
}

/// Chats, a message and users every route can be aimed at.
struct Fixture {
    app: TestApp,
    users: Vec<User>,
    chat: Uuid,
    direct: Uuid,
    message: Uuid,
}

impl Fixture {
    async fn new() -> Fixture {
        let app = TestApp::spawn().await;
        let users = app.users(4).await;
        let chat = app
            .group(&users[0], &[&users[1], &users[2]], "fixture")
            .await;
        let direct = app.accepted_direct(&users[0], &users[3]).await;
        let r = app.send(chat, &users[0], "fixture-message", "hello").await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.raw);
        let message = r.id("message_id");
        Fixture {
            app,
            users,
            chat,
            direct,
            message,
        }
    }

    fn me(&self) -> &User {
        &self.users[0]
    }

    /// The route's path with real ids, or with `bad` in place of `which`.
    fn path(&self, path: &str, bad: Option<(&str, &str)>) -> String {
        let mut out = path.to_owned();
        for (name, id) in [
            ("{chat}", self.chat),
            ("{direct}", self.direct),
            ("{message}", self.message),
            ("{user}", self.users[1].id),
        ] {
            let value = match bad {
                Some((which, bad)) if which == name => bad.to_owned(),
                _ => id.to_string(),
            };
            out = out.replace(name, &value);
        }
        out
    }

    /// Every command route of the contract except media uploads.
    fn routes(&self) -> Vec<Route> {
        let send = json!({ "client_msg_id": "bad-input", "kind": "text", "text": "hi" });
        vec![
            route(Method::PUT, "/v1/me/profile", Some(json!({ "bio": "x" }))),
            route(
                Method::PUT,
                "/v1/me/settings",
                Some(json!({ "read_receipts": false })),
            ),
            route(Method::POST, "/v1/users/{user}/block", None),
            route(Method::DELETE, "/v1/users/{user}/block", None),
            route(
                Method::POST,
                "/v1/chats/direct",
                Some(json!({ "recipient_id": self.users[2].id })),
            ),
            route(Method::POST, "/v1/chats/{direct}/accept", None),
            route(Method::POST, "/v1/chats/{direct}/reject", None),
            route(Method::POST, "/v1/chats/{direct}/block", None),
            route(Method::POST, "/v1/chats/{direct}/unblock", None),
            route(
                Method::POST,
                "/v1/chats/group",
                Some(json!({ "title": "t", "member_ids": [self.users[1].id, self.users[2].id] })),
            ),
            route(
                Method::PATCH,
                "/v1/chats/{chat}",
                Some(json!({ "title": "renamed" })),
            ),
            route(
                Method::POST,
                "/v1/chats/{chat}/members",
                Some(json!({ "user_ids": [self.users[3].id] })),
            ),
            route(Method::DELETE, "/v1/chats/{chat}/members/{user}", None),
            route(Method::POST, "/v1/chats/{chat}/admins/{user}", None),
            route(Method::DELETE, "/v1/chats/{chat}/admins/{user}", None),
            route(Method::POST, "/v1/chats/{chat}/leave", None),
            route(
                Method::POST,
                "/v1/chats/{chat}/mute",
                Some(json!({ "until": null })),
            ),
            route(Method::POST, "/v1/chats/{chat}/unmute", None),
            route(Method::POST, "/v1/chats/{chat}/archive", None),
            route(Method::POST, "/v1/chats/{chat}/unarchive", None),
            route(Method::DELETE, "/v1/chats/{chat}", None),
            route(Method::POST, "/v1/chats/{chat}/messages", Some(send)),
            route(
                Method::PATCH,
                "/v1/chats/{chat}/messages/{message}",
                Some(json!({ "text": "edited" })),
            ),
            route(
                Method::DELETE,
                "/v1/chats/{chat}/messages/{message}?for=everyone",
                None,
            ),
            route(
                Method::DELETE,
                "/v1/chats/{chat}/messages/{message}?for=me",
                None,
            ),
            route(
                Method::PUT,
                "/v1/chats/{chat}/messages/{message}/reactions/👍",
                None,
            ),
            route(
                Method::DELETE,
                "/v1/chats/{chat}/messages/{message}/reactions/👍",
                None,
            ),
            route(
                Method::POST,
                "/v1/chats/{chat}/messages/{message}/pin",
                None,
            ),
            route(
                Method::DELETE,
                "/v1/chats/{chat}/messages/{message}/pin",
                None,
            ),
            route(
                Method::POST,
                "/v1/chats/{chat}/read",
                Some(json!({ "up_to_seq": 1 })),
            ),
        ]
    }

    fn body_routes(&self) -> Vec<Route> {
        self.routes()
            .into_iter()
            .filter(|r| r.body.is_some())
            .collect()
    }
}

/// A request with a raw body and content type.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: String,
) -> Resp {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("the request reaches the app");
    let status = res.status();
    let headers = res.headers().clone();
    let raw = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Resp {
        status,
        body,
        raw,
        headers,
    }
}

/// Assert the problem, naming the route when it does not match.
fn check(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.raw);
    assert_eq!(r.body["code"], code, "{what}: {}", r.raw);
    let ct = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(ct, "application/problem+json", "{what}: {}", r.raw);
}

#[tokio::test]
async fn every_command_without_a_token_is_unauthorized() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    for r in f.routes() {
        let path = f.path(r.path, None);
        let what = format!("{} {path}", r.method);
        let res = f
            .app
            .call(r.method.clone(), &path, None, r.body.clone())
            .await;
        check(&res, 401, "missing_token", &what);
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn every_command_with_a_garbage_token_is_unauthorized() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    for token in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"] {
        for r in f.routes() {
            let path = f.path(r.path, None);
            let what = format!("{} {path} with {token}", r.method);
            let res = f
                .app
                .call(r.method.clone(), &path, Some(token), r.body.clone())
                .await;
            check(&res, 401, "invalid_token", &what);
        }
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn malformed_json_is_refused_on_every_route_that_takes_a_body() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    let routes = f.body_routes();
    assert_eq!(routes.len(), 10);
    for r in routes {
        let path = f.path(r.path, None);
        // Broken before any field is read (a streaming parser reports an
        // unknown field before a syntax error further on).
        for body in ["{", "{,}", "not json", "{'single': 1}", "\"unterminated"] {
            let what = format!("{} {path} with {body}", r.method);
            let res = raw(
                &f.app,
                r.method.clone(),
                &path,
                Some(&f.me().token),
                "application/json",
                body.to_owned(),
            )
            .await;
            check(&res, 400, "malformed_json", &what);
        }
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn an_unknown_field_is_refused_on_every_route_that_takes_a_body() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    for r in f.body_routes() {
        let path = f.path(r.path, None);
        let mut body = r.body.clone().expect("a body");
        body["surprise"] = json!(true);
        let res = f
            .app
            .call(r.method.clone(), &path, Some(&f.me().token), Some(body))
            .await;
        check(&res, 400, "invalid_body", &format!("{} {path}", r.method));
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn a_wrong_type_is_refused_on_every_route_that_takes_a_body() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    let wrong = [
        ("/v1/me/profile", json!({ "bio": 42 })),
        ("/v1/me/settings", json!({ "read_receipts": "no" })),
        ("/v1/chats/direct", json!({ "recipient_id": 7 })),
        (
            "/v1/chats/group",
            json!({ "title": ["t"], "member_ids": [] }),
        ),
        ("/v1/chats/{chat}", json!({ "title": { "text": "x" } })),
        ("/v1/chats/{chat}/members", json!({ "user_ids": [1, 2] })),
        ("/v1/chats/{chat}/mute", json!({ "until": 1_700_000_000 })),
        (
            "/v1/chats/{chat}/messages",
            json!({ "client_msg_id": "w", "kind": "text", "text": true }),
        ),
        (
            "/v1/chats/{chat}/messages/{message}",
            json!({ "text": null }),
        ),
        ("/v1/chats/{chat}/read", json!({ "up_to_seq": 1.5 })),
    ];
    let routes = f.body_routes();
    assert_eq!(routes.len(), wrong.len());
    for r in routes {
        let (_, body) = wrong
            .iter()
            .find(|(p, _)| *p == r.path)
            .expect("a wrong body for every route");
        let path = f.path(r.path, None);
        let res = f
            .app
            .call(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                Some(body.clone()),
            )
            .await;
        check(&res, 400, "invalid_body", &format!("{} {path}", r.method));
        // A JSON array or scalar is no object either.
        let res = f
            .app
            .call(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                Some(json!("a string")),
            )
            .await;
        check(
            &res,
            400,
            "invalid_body",
            &format!("{} {path} with a string", r.method),
        );
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn a_json_body_over_64_kib_is_too_large_on_every_route_that_takes_one() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    let big = "x".repeat(65 * 1024);
    for r in f.body_routes() {
        let path = f.path(r.path, None);
        let mut body = r.body.clone().expect("a body");
        body["padding"] = json!(big);
        let res = f
            .app
            .call(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                Some(body.clone()),
            )
            .await;
        check(
            &res,
            413,
            "payload_too_large",
            &format!("{} {path}", r.method),
        );
        let res = f
            .app
            .call_with(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                Some(body),
                &[("Idempotency-Key", "big-body")],
            )
            .await;
        check(
            &res,
            413,
            "payload_too_large",
            &format!("{} {path} with an Idempotency-Key", r.method),
        );
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_accepted() {
    let f = Fixture::new().await;
    let path = format!("/v1/chats/{}/messages", f.chat);
    // 4096 four-byte characters: 16 KiB of text, well within 64 KiB.
    let body =
        json!({ "client_msg_id": "big-but-fine", "kind": "text", "text": "😀".repeat(4096) });
    let r = f
        .app
        .call(Method::POST, &path, Some(&f.me().token), Some(body))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.raw);
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_invalid_on_every_route() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    let mut checked = 0;
    for r in f.routes() {
        for name in ["{chat}", "{direct}", "{message}", "{user}"] {
            if !r.path.contains(name) {
                continue;
            }
            for bad in [
                "not-a-uuid",
                "12345",
                "00000000-0000-0000-0000-00000000000g",
            ] {
                let path = f.path(r.path, Some((name, bad)));
                let res = f
                    .app
                    .call(r.method.clone(), &path, Some(&f.me().token), r.body.clone())
                    .await;
                check(&res, 400, "invalid_id", &format!("{} {path}", r.method));
                checked += 1;
            }
        }
    }
    assert!(checked >= 3 * 26, "every id of every route: {checked}");
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn a_body_that_is_not_declared_as_json_is_an_unsupported_media_type() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    // Mute takes an optional body and reads it whatever its declared type.
    for r in f
        .body_routes()
        .into_iter()
        .filter(|r| !r.path.ends_with("/mute"))
    {
        let path = f.path(r.path, None);
        let body = r.body.clone().expect("a body").to_string();
        let res = raw(
            &f.app,
            r.method.clone(),
            &path,
            Some(&f.me().token),
            "text/plain",
            body,
        )
        .await;
        check(
            &res,
            415,
            "unsupported_media_type",
            &format!("{} {path}", r.method),
        );
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn an_if_match_that_is_not_a_version_is_invalid_on_every_route() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    for r in f.routes() {
        let path = f.path(r.path, None);
        let res = f
            .app
            .call_with(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                r.body.clone(),
                &[("If-Match", "latest")],
            )
            .await;
        check(
            &res,
            400,
            "invalid_if_match",
            &format!("{} {path}", r.method),
        );
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn an_if_match_with_a_stale_version_changes_nothing_on_any_route() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    for r in f.routes() {
        let path = f.path(r.path, None);
        let res = f
            .app
            .call_with(
                r.method.clone(),
                &path,
                Some(&f.me().token),
                r.body.clone(),
                &[("If-Match", "999")],
            )
            .await;
        check(
            &res,
            409,
            "version_conflict",
            &format!("{} {path}", r.method),
        );
    }
    assert_eq!(f.app.event_count().await, before);
}

#[tokio::test]
async fn an_empty_mute_body_mutes_and_malformed_ones_are_refused() {
    let f = Fixture::new().await;
    let path = format!("/v1/chats/{}/mute", f.chat);
    let token = f.me().token.clone();
    let before = f.app.event_count().await;
    for (body, code) in [
        ("{\"until\": ", "malformed_json"),
        ("{\"until\": null, \"x\": 1}", "invalid_body"),
    ] {
        let res = raw(
            &f.app,
            Method::POST,
            &path,
            Some(&token),
            "application/json",
            body.to_owned(),
        )
        .await;
        check(&res, 400, code, body);
    }
    assert_eq!(f.app.event_count().await, before);
    let res = raw(
        &f.app,
        Method::POST,
        &path,
        Some(&token),
        "application/json",
        "  \n".to_owned(),
    )
    .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.raw);
    assert_eq!(f.app.event_count().await, before + 1);
}

/// A request id lands in every event's metadata, in a log that is never
/// rewritten: a client's id is kept only when short and plain; anything
/// else is replaced by one the server generates.
#[tokio::test]
async fn only_short_plain_request_ids_reach_the_log() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let long = "a".repeat(1_000);
    let send = |id: &str, cmid: &str| {
        let (app, who) = (&app, &users[0]);
        let (id, cmid) = (id.to_owned(), cmid.to_owned());
        async move {
            app.call_with(
                Method::POST,
                &format!("/v1/chats/{chat}/messages"),
                Some(&who.token),
                Some(json!({ "client_msg_id": cmid, "kind": "text", "text": "hi" })),
                &[("x-request-id", id.as_str())],
            )
            .await
        }
    };
    let kept = send("trace-42.a:b", "kept").await;
    let replaced = send(&long, "replaced").await;
    assert_eq!(kept.headers["x-request-id"], "trace-42.a:b");
    let generated = replaced.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(generated.parse::<Uuid>().is_ok(), "{generated}");
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT metadata->>'correlation_id' FROM events \
          WHERE stream = $1 AND event_type = 'MessageSent' ORDER BY version",
    )
    .bind(format!("chat-{chat}"))
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(
        ids.into_iter().map(|(i,)| i).collect::<Vec<_>>(),
        vec!["trace-42.a:b".to_owned(), generated]
    );
}

/// A method a command route does not have is the router's 405, whatever
/// `Idempotency-Key` it carries: never the replay (or the 422) of the
/// command that used the key (found by the API fuzzer).
#[tokio::test]
async fn a_method_a_command_route_does_not_have_is_405_even_with_a_used_idempotency_key() {
    let f = Fixture::new().await;
    let path = format!("/v1/chats/{}/archive", f.chat);
    let key = [("Idempotency-Key", "used-once")];
    let first = f
        .app
        .call_with(Method::POST, &path, Some(&f.users[0].token), None, &key)
        .await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.raw);
    let before = f.app.event_count().await;
    for method in [Method::PUT, Method::PATCH, Method::GET, Method::TRACE] {
        let res = f
            .app
            .call_with(method.clone(), &path, Some(&f.users[0].token), None, &key)
            .await;
        assert_eq!(res.status.as_u16(), 405, "{method} {path}: {}", res.raw);
    }
    assert_eq!(f.app.event_count().await, before);
}

/// JSON Schema counts `1.0` as the integer the document promises.
#[tokio::test]
async fn a_read_marker_written_with_a_zero_fraction_is_the_integer() {
    let f = Fixture::new().await;
    let path = format!("/v1/chats/{}/read", f.chat);
    let r = f
        .app
        .post(&path, &f.users[1], Some(json!({ "up_to_seq": 1.0 })))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.raw);
}

/// An `If-Match` that is not text is refused, not read as absent (the
/// command would have run unguarded; found by the API fuzzer).
#[tokio::test]
async fn an_if_match_that_is_not_text_is_invalid_and_changes_nothing() {
    let f = Fixture::new().await;
    let before = f.app.event_count().await;
    let res = f
        .app
        .http
        .put(format!("{}/v1/me/profile", f.app.base))
        .bearer_auth(&f.users[0].token)
        .header(
            "If-Match",
            reqwest::header::HeaderValue::from_bytes(b"\xe97").expect("an opaque header value"),
        )
        .json(&json!({ "display_name": "Changed" }))
        .send()
        .await
        .expect("the request reaches the app");
    let r = Resp::read(res).await;
    r.problem(400, "invalid_if_match");
    assert_eq!(f.app.event_count().await, before);
}
