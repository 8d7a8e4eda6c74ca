//! Polls and locations end to end: sending them, votes that replace,
//! results in history, anonymous votes on the socket, closing, and what a
//! delete for everyone leaves.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{Ws, own_event, pos};
use crate::support::{Resp, TestApp, User};

async fn send(app: &TestApp, chat: Uuid, who: &User, body: Value) -> Resp {
    let mut body = body;
    body["client_msg_id"] = json!(Uuid::new_v4().to_string());
    app.post(&format!("/v1/chats/{chat}/messages"), who, Some(body))
        .await
}

async fn poll(app: &TestApp, chat: Uuid, who: &User, multiple: bool, anonymous: bool) -> Resp {
    let body = json!({"kind": "poll", "poll": {"question": "Where to?",
        "options": ["Hills", "Lake", "Coast"], "multiple": multiple, "anonymous": anonymous}});
    let r = send(app, chat, who, body).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r
}

async fn vote(app: &TestApp, chat: Uuid, mid: Uuid, who: &User, options: Value) -> Resp {
    app.call(
        Method::PUT,
        &format!("/v1/chats/{chat}/messages/{mid}/votes"),
        Some(&who.token),
        Some(json!({ "option_ids": options })),
    )
    .await
}

/// The message `mid` as `who` reads it in history.
async fn read(app: &TestApp, chat: Uuid, mid: Uuid, who: &User, at: u64) -> Value {
    let r = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/messages?min_position={at}"),
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|m| m["message_id"] == mid.to_string())
                .cloned()
        })
        .unwrap_or_else(|| panic!("{mid} in {}", r.raw))
}

fn votes(m: &Value) -> Vec<i64> {
    m["poll"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["votes"].as_i64().expect("votes"))
        .collect()
}

#[tokio::test]
async fn a_re_vote_replaces_and_results_count_each_voter_once() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "polls").await;
    let mid = poll(&app, chat, &u[0], false, false).await.id("message_id");
    assert!(
        vote(&app, chat, mid, &u[1], json!([0]))
            .await
            .status
            .is_success()
    );
    // A zero fraction is the same whole number (JSON Schema says so; the
    // API fuzzer sent one).
    let r = vote(&app, chat, mid, &u[1], json!([1.0])).await;
    assert!(r.status.is_success(), "{}", r.raw);
    let r = vote(&app, chat, mid, &u[2], json!([1])).await;
    let m = read(&app, chat, mid, &u[1], pos(&r.body)).await;
    assert_eq!(m["kind"], "poll");
    assert_eq!(m["poll"]["question"], "Where to?");
    assert_eq!(votes(&m), [0, 2, 0]);
    assert_eq!(m["poll"]["total_voters"], 2);
    assert_eq!(m["poll"]["my_vote"], json!([1]));
    assert_eq!(m["poll"]["results"][1]["voters"], json!([u[1].id, u[2].id]));

    // Bad ballots are refused and change nothing.
    let before = app.event_count().await;
    vote(&app, chat, mid, &u[1], json!([0, 1]))
        .await
        .problem(400, "invalid_vote");
    vote(&app, chat, mid, &u[1], json!([7]))
        .await
        .problem(400, "invalid_vote");
    assert_eq!(app.event_count().await, before);

    // Retracting, then closing: only the author, and no votes after.
    let r = vote(&app, chat, mid, &u[2], json!([])).await;
    assert!(r.status.is_success(), "{}", r.raw);
    let close = format!("/v1/chats/{chat}/messages/{mid}/poll/close");
    app.post(&close, &u[1], None)
        .await
        .problem(403, "not_the_author");
    let r = app.post(&close, &u[0], None).await;
    assert!(r.status.is_success(), "{}", r.raw);
    vote(&app, chat, mid, &u[2], json!([2]))
        .await
        .problem(409, "poll_closed");
    let m = read(&app, chat, mid, &u[2], pos(&r.body)).await;
    assert_eq!(
        (votes(&m), m["poll"]["closed"].clone()),
        (vec![0, 1, 0], json!(true))
    );
    assert_eq!(m["poll"]["my_vote"], json!([]));

    // Polls are not edited; a delete for everyone leaves no poll or votes.
    app.call(
        Method::PATCH,
        &format!("/v1/chats/{chat}/messages/{mid}"),
        Some(&u[0].token),
        Some(json!({"text": "changed"})),
    )
    .await
    .problem(409, "message_not_editable");
    let r = app
        .delete(
            &format!("/v1/chats/{chat}/messages/{mid}?for=everyone"),
            &u[0],
        )
        .await;
    let m = read(&app, chat, mid, &u[1], pos(&r.body)).await;
    assert_eq!(m["poll"], Value::Null);
    let pool = app.db().pool(1).await;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rm_messages.votes WHERE message_id = $1")
            .bind(mid)
            .fetch_one(&pool)
            .await
            .expect("a count");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn anonymous_votes_reach_only_the_voter_and_results_name_nobody() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "secret").await;
    let mid = poll(&app, chat, &u[0], true, true).await.id("message_id");
    let mut voter = Ws::connect(&app.base, &u[1]).await;
    voter.subscribe(None).await;
    let mut other = Ws::connect(&app.base, &u[2]).await;
    other.subscribe(None).await;
    let r = vote(&app, chat, mid, &u[1], json!([2, 0])).await;
    assert!(r.status.is_success(), "{}", r.raw);
    let at = pos(&r.body);
    let mine = voter.events_through(at).await;
    assert_eq!(mine.last().expect("a frame")["event"]["type"], "PollVoted");
    assert_eq!(
        mine.last().expect("a frame")["event"]["option_ids"],
        json!([0, 2])
    );
    let end = own_event(&app, &u[2], "end").await;
    let seen = other.events_through(end).await;
    assert!(
        !seen.iter().any(|f| f["event"]["type"] == "PollVoted"),
        "{seen:?}"
    );
    let m = read(&app, chat, mid, &u[2], at).await;
    assert_eq!(votes(&m), [1, 0, 1]);
    assert!(
        m["poll"]["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["voters"].is_null())
    );
}

#[tokio::test]
async fn a_location_is_a_checked_point_and_neither_kind_carries_text() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let r = send(
        &app,
        chat,
        &u[0],
        json!({"kind": "location", "location": {"lat": 46.5775, "lon": 7.9844, "name": "Eiger"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let m = read(&app, chat, r.id("message_id"), &u[1], pos(&r.body)).await;
    assert_eq!(
        m["location"],
        json!({"lat": 46.5775, "lon": 7.9844, "name": "Eiger"})
    );
    assert_eq!(m["poll"], Value::Null);

    let before = app.event_count().await;
    for (body, code) in [
        (
            json!({"kind": "location", "location": {"lat": 91, "lon": 0}}),
            "invalid_location",
        ),
        (json!({"kind": "location"}), "invalid_location"),
        (
            json!({"kind": "poll", "poll": {"question": "?", "options": ["only one"]}}),
            "invalid_poll",
        ),
        (
            json!({"kind": "text", "text": "hi", "poll": {"question": "q", "options": ["a", "b"]}}),
            "invalid_poll",
        ),
        (
            json!({"kind": "location", "text": "and words", "location": {"lat": 1, "lon": 1}}),
            "media_mismatch",
        ),
    ] {
        send(&app, chat, &u[0], body).await.problem(400, code);
    }
    assert_eq!(app.event_count().await, before);
}
