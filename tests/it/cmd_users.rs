//! User commands end to end: profile, settings, blocking users.

use crate::support::{Resp, TestApp, User, assert_answer, types};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn put(app: &TestApp, path: &str, who: &User, body: Value) -> Resp {
    app.call(Method::PUT, path, Some(&who.token), Some(body))
        .await
}

#[tokio::test]
async fn updating_the_profile_appends_profile_updated_to_the_users_stream() {
    let app = TestApp::spawn().await;
    let u = app.register("profile_owner").await;
    let stream = format!("user-{}", u.id);
    let r = put(
        &app,
        "/v1/me/profile",
        &u,
        json!({ "display_name": "Ada", "avatar_url": "https://x.example/a.png", "bio": "hi" }),
    )
    .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("user_id"), u.id);
    let events = app.events(&stream).await;
    assert_eq!(
        events.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["UserRegistered", "ProfileUpdated"]
    );
    assert_eq!(r.body["version"], 2);
    let p = &events[1].1;
    assert_eq!(p["display_name"], "Ada");
    assert_eq!(p["avatar_url"], "https://x.example/a.png");
    assert_eq!(p["bio"], "hi");
}

#[tokio::test]
async fn an_unchanged_profile_appends_nothing() {
    let app = TestApp::spawn().await;
    let u = app.register("same_profile").await;
    let first = put(&app, "/v1/me/profile", &u, json!({ "bio": "same" })).await;
    assert_answer(&first, 200, &format!("user-{}", u.id));
    let before = app.event_count().await;
    let again = put(&app, "/v1/me/profile", &u, json!({ "bio": "same" })).await;
    assert_answer(&again, 200, &format!("user-{}", u.id));
    assert_eq!(again.body["version"], first.body["version"]);
    assert_eq!(again.body["position"], first.body["position"]);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn invalid_profile_values_are_refused_with_their_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let u = app.register("bad_profile").await;
    let before = app.event_count().await;
    let cases = [
        (
            json!({ "display_name": "   " }),
            "invalid_display_name",
            "display_name",
        ),
        (
            json!({ "display_name": "x".repeat(65) }),
            "invalid_display_name",
            "display_name",
        ),
        (
            json!({ "avatar_url": "javascript:alert(1)" }),
            "invalid_avatar_url",
            "avatar_url",
        ),
        (json!({ "bio": "b".repeat(513) }), "bio_too_long", "bio"),
    ];
    for (body, code, field) in cases {
        let r = put(&app, "/v1/me/profile", &u, body).await;
        r.problem(400, code);
        assert_eq!(r.body["field"], field, "{}", r.raw);
    }
    put(&app, "/v1/me/profile", &u, json!({ "nickname": "x" }))
        .await
        .problem(400, "invalid_body");
    put(&app, "/v1/me/profile", &u, json!({ "bio": 7 }))
        .await
        .problem(400, "invalid_body");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn profile_and_settings_need_a_valid_token() {
    let app = TestApp::spawn().await;
    let u = app.register("token_less").await;
    let before = app.event_count().await;
    for path in ["/v1/me/profile", "/v1/me/settings"] {
        let body = json!({});
        app.call(Method::PUT, path, None, Some(body.clone()))
            .await
            .problem(401, "missing_token");
        app.call(Method::PUT, path, Some("garbage"), Some(body))
            .await
            .problem(401, "invalid_token");
    }
    for method in [Method::POST, Method::DELETE] {
        let path = format!("/v1/users/{}/block", u.id);
        app.call(method.clone(), &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(method, &path, Some("not.a.jwt"), None)
            .await
            .problem(401, "invalid_token");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn changing_settings_appends_settings_changed_and_repeating_them_appends_nothing() {
    let app = TestApp::spawn().await;
    let u = app.register("settings_owner").await;
    let stream = format!("user-{}", u.id);
    let body = json!({ "read_receipts": false, "last_seen_visible_to": "contacts", "accept_requests_from": "nobody" });
    let r = put(&app, "/v1/me/settings", &u, body.clone()).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("user_id"), u.id);
    let events = app.events(&stream).await;
    assert_eq!(
        events.last().map(|(t, _)| t.as_str()),
        Some("SettingsChanged")
    );
    let p = &events.last().unwrap().1;
    assert_eq!(p["read_receipts"], false);
    assert_eq!(p["last_seen_visible_to"], "contacts");
    assert_eq!(p["accept_requests_from"], "nobody");

    let before = app.event_count().await;
    let again = put(&app, "/v1/me/settings", &u, body).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(again.body["version"], r.body["version"]);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn settings_outside_the_allowed_values_are_invalid_and_change_nothing() {
    let app = TestApp::spawn().await;
    let u = app.register("bad_settings").await;
    let before = app.event_count().await;
    for body in [
        json!({ "last_seen_visible_to": "friends" }),
        json!({ "accept_requests_from": "contacts" }),
        json!({ "read_receipts": "yes" }),
        json!({ "theme": "dark" }),
    ] {
        put(&app, "/v1/me/settings", &u, body)
            .await
            .problem(400, "invalid_body");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn if_match_with_a_wrong_version_is_a_conflict_and_with_the_right_one_succeeds() {
    let app = TestApp::spawn().await;
    let u = app.register("strict_writer").await;
    let stream = format!("user-{}", u.id);
    let version = app.events(&stream).await.len().to_string();
    let before = app.event_count().await;
    let body = json!({ "bio": "strict" });
    let r = app
        .call_with(
            Method::PUT,
            "/v1/me/profile",
            Some(&u.token),
            Some(body.clone()),
            &[("If-Match", "41")],
        )
        .await;
    r.problem(409, "version_conflict");
    assert_eq!(app.event_count().await, before);

    let r = app
        .call_with(
            Method::PUT,
            "/v1/me/profile",
            Some(&u.token),
            Some(body.clone()),
            &[("If-Match", &version)],
        )
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("ProfileUpdated")
    );

    // The stream moved on: the same version is now stale.
    let r = app
        .call_with(
            Method::PUT,
            "/v1/me/profile",
            Some(&u.token),
            Some(json!({ "bio": "later" })),
            &[("If-Match", &version)],
        )
        .await;
    r.problem(409, "version_conflict");
    let r = app
        .call_with(
            Method::PUT,
            "/v1/me/profile",
            Some(&u.token),
            Some(body),
            &[("If-Match", "seven")],
        )
        .await;
    r.problem(400, "invalid_if_match");
}

#[tokio::test]
async fn blocking_and_unblocking_a_user_appends_to_the_blockers_stream() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (me, them) = (&users[0], &users[1]);
    let stream = format!("user-{}", me.id);
    let path = format!("/v1/users/{}/block", them.id);

    let r = app.post(&path, me, None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("user_id"), me.id);
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "UserBlocked");
    assert_eq!(p["blocked_user_id"], them.id.to_string());
    assert!(
        types(&app, &format!("user-{}", them.id))
            .await
            .iter()
            .all(|t| t != "UserBlocked")
    );

    let before = app.event_count().await;
    let again = app.post(&path, me, None).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "blocking twice appends nothing"
    );

    let r = app.delete(&path, me).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("UserUnblocked")
    );

    let before = app.event_count().await;
    let again = app.delete(&path, me).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "unblocking twice appends nothing"
    );
}

#[tokio::test]
async fn a_blocked_user_cannot_request_a_chat_and_the_blocker_must_unblock_first() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (me, them) = (&users[0], &users[1]);
    let r = app
        .post(&format!("/v1/users/{}/block", them.id), me, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    app.direct(them, me).await.problem(403, "blocked");
    app.direct(me, them).await.problem(403, "you_blocked_user");
    assert_eq!(app.event_count().await, before);

    let r = app
        .delete(&format!("/v1/users/{}/block", them.id), me)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(app.direct(them, me).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn blocking_yourself_an_unknown_user_or_a_malformed_id_is_refused() {
    let app = TestApp::spawn().await;
    let me = app.register("lonely_blocker").await;
    let before = app.event_count().await;
    for method in [Method::POST, Method::DELETE] {
        let own = app
            .call(
                method.clone(),
                &format!("/v1/users/{}/block", me.id),
                Some(&me.token),
                None,
            )
            .await;
        own.problem(400, "cannot_block_self");
        let unknown = format!("/v1/users/{}/block", Uuid::new_v4());
        app.call(method.clone(), &unknown, Some(&me.token), None)
            .await
            .problem(404, "user_not_found");
        app.call(method, "/v1/users/not-a-uuid/block", Some(&me.token), None)
            .await
            .problem(400, "invalid_id");
    }
    assert_eq!(app.event_count().await, before);
}
