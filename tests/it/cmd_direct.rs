//! Direct chats end to end: request, accept, reject, block, unblock.

use crate::support::{TestApp, assert_answer, types};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn requesting_a_direct_chat_creates_a_pending_chat() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let r = app.direct(a, b).await;
    let chat = r.id("chat_id");
    let stream = format!("chat-{chat}");
    assert_answer(&r, 201, &stream);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["version"], 1);
    let events = app.events(&stream).await;
    assert_eq!(events.len(), 1);
    let (t, p) = &events[0];
    assert_eq!(t, "DirectChatRequested");
    assert_eq!(p["requester_id"], a.id.to_string());
    assert_eq!(p["recipient_id"], b.id.to_string());
}

#[tokio::test]
async fn requesting_the_same_chat_again_from_either_side_returns_it_and_appends_nothing() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let first = app.direct(a, b).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let before = app.event_count().await;
    for (from, to) in [(a, b), (b, a)] {
        let again = app.direct(from, to).await;
        assert_answer(&again, 200, &format!("chat-{}", first.id("chat_id")));
        assert_eq!(again.id("chat_id"), first.id("chat_id"));
        assert_eq!(again.body["status"], "pending");
        assert_eq!(again.body["version"], first.body["version"]);
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn requesting_a_chat_with_yourself_or_an_unknown_user_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.register("self_talker").await;
    let before = app.event_count().await;
    app.direct(&a, &a)
        .await
        .problem(400, "cannot_chat_with_self");
    let body = json!({ "recipient_id": Uuid::new_v4() });
    app.post("/v1/chats/direct", &a, Some(body))
        .await
        .problem(404, "user_not_found");
    let body = json!({ "recipient_id": "not-a-uuid" });
    app.post("/v1/chats/direct", &a, Some(body))
        .await
        .problem(400, "invalid_body");
    app.post("/v1/chats/direct", &a, Some(json!({})))
        .await
        .problem(400, "invalid_body");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_user_who_accepts_no_requests_cannot_be_asked() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let r = app
        .call(
            Method::PUT,
            "/v1/me/settings",
            Some(&b.token),
            Some(json!({ "accept_requests_from": "nobody" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    app.direct(a, b).await.problem(403, "requests_not_accepted");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn the_recipient_accepts_a_request_and_the_chat_becomes_active() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.direct(a, b).await.id("chat_id");
    let stream = format!("chat-{chat}");
    let r = app.post(&format!("/v1/chats/{chat}/accept"), b, None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["version"], 2);
    assert_eq!(
        types(&app, &stream).await,
        ["DirectChatRequested", "ChatRequestAccepted"]
    );
}

#[tokio::test]
async fn accepting_a_request_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let before = app.event_count().await;
    app.post(&format!("/v1/chats/{chat}/accept"), &users[1], None)
        .await
        .problem(409, "chat_not_pending");
    app.post(&format!("/v1/chats/{chat}/reject"), &users[1], None)
        .await
        .problem(409, "chat_not_pending");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn only_the_recipient_may_answer_a_request() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let (a, b, stranger) = (&users[0], &users[1], &users[2]);
    let chat = app.direct(a, b).await.id("chat_id");
    let before = app.event_count().await;
    for action in ["accept", "reject"] {
        let path = format!("/v1/chats/{chat}/{action}");
        app.post(&path, a, None)
            .await
            .problem(403, "not_the_recipient");
        app.post(&path, stranger, None)
            .await
            .problem(404, "chat_not_found");
        app.post(&format!("/v1/chats/{}/{action}", Uuid::new_v4()), b, None)
            .await
            .problem(404, "chat_not_found");
        app.post(&format!("/v1/chats/nope/{action}"), b, None)
            .await
            .problem(400, "invalid_id");
        app.call(Method::POST, &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(Method::POST, &path, Some("garbage"), None)
            .await
            .problem(401, "invalid_token");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn answering_a_group_as_a_request_is_invalid() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "not a request")
        .await;
    let before = app.event_count().await;
    for action in ["accept", "reject", "block", "unblock"] {
        app.post(&format!("/v1/chats/{chat}/{action}"), &users[1], None)
            .await
            .problem(400, "not_a_direct_chat");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn rejecting_a_request_closes_it_to_the_requester() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.direct(a, b).await.id("chat_id");
    let stream = format!("chat-{chat}");
    let r = app.post(&format!("/v1/chats/{chat}/reject"), b, None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(
        types(&app, &stream).await,
        ["DirectChatRequested", "ChatRequestRejected"]
    );

    let before = app.event_count().await;
    app.direct(a, b).await.problem(409, "chat_request_rejected");
    app.send(chat, a, "after-reject", "hello?")
        .await
        .problem(409, "chat_request_rejected");
    assert_eq!(app.event_count().await, before);

    // The side that rejected may start it again, as the new requester.
    let again = app.direct(b, a).await;
    assert_answer(&again, 201, &stream);
    assert_eq!(again.body["status"], "pending");
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("DirectChatRequested")
    );
}

#[tokio::test]
async fn the_recipient_cannot_write_into_a_pending_request_but_the_requester_can() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.direct(a, b).await.id("chat_id");
    let r = app.send(chat, a, "knock", "hello, may I?").await;
    assert_answer(&r, 201, &format!("chat-{chat}"));
    let before = app.event_count().await;
    app.send(chat, b, "early", "hi")
        .await
        .problem(409, "chat_request_pending");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn blocking_a_direct_chat_stops_both_sides_writing_until_unblocked() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.accepted_direct(a, b).await;
    let stream = format!("chat-{chat}");

    let r = app.post(&format!("/v1/chats/{chat}/block"), b, None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.body["status"], "blocked");
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "DirectChatBlocked");
    assert_eq!(p["by"], b.id.to_string());

    let before = app.event_count().await;
    let again = app.post(&format!("/v1/chats/{chat}/block"), b, None).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "blocking twice appends nothing"
    );
    app.send(chat, a, "m1", "hello?")
        .await
        .problem(403, "blocked");
    app.send(chat, b, "m2", "hello?")
        .await
        .problem(403, "you_blocked_chat");
    assert_eq!(app.event_count().await, before);

    let r = app
        .post(&format!("/v1/chats/{chat}/unblock"), b, None)
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.body["status"], "active");
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("DirectChatUnblocked")
    );
    assert_eq!(
        app.send(chat, a, "m3", "hello again").await.status,
        StatusCode::CREATED
    );

    let before = app.event_count().await;
    let again = app
        .post(&format!("/v1/chats/{chat}/unblock"), b, None)
        .await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "unblocking an unblocked chat appends nothing"
    );
}

#[tokio::test]
async fn a_user_level_block_stops_messages_in_an_existing_chat() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.accepted_direct(a, b).await;
    let r = app
        .post(&format!("/v1/users/{}/block", a.id), b, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    app.send(chat, a, "m1", "are you there?")
        .await
        .problem(403, "blocked");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_user_level_block_also_stops_edits_reactions_and_pins_toward_the_blocker() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (a, b) = (&users[0], &users[1]);
    let chat = app.accepted_direct(a, b).await;
    let mine = app.send(chat, a, "m1", "hello").await.id("message_id");
    let theirs = app.send(chat, b, "m2", "hi").await.id("message_id");
    // Before the block: a reaction a will want to take back later.
    let heart = format!("/v1/chats/{chat}/messages/{theirs}/reactions/%E2%9D%A4%EF%B8%8F");
    let r = app.call(Method::PUT, &heart, Some(&a.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let r = app
        .post(&format!("/v1/users/{}/block", a.id), b, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);

    let before = app.event_count().await;
    let thumbs = format!("/v1/chats/{chat}/messages/{theirs}/reactions/%F0%9F%91%8D");
    app.call(Method::PUT, &thumbs, Some(&a.token), None)
        .await
        .problem(403, "blocked");
    app.post(&format!("/v1/chats/{chat}/messages/{theirs}/pin"), a, None)
        .await
        .problem(403, "blocked");
    app.call(
        Method::PATCH,
        &format!("/v1/chats/{chat}/messages/{mine}"),
        Some(&a.token),
        Some(json!({ "text": "hello again" })),
    )
    .await
    .problem(403, "blocked");
    assert_eq!(app.event_count().await, before, "nothing was appended");

    // Taking something back is not a write toward the blocker.
    let r = app.call(Method::DELETE, &heart, Some(&a.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    // The blocker is not stopped by their own block.
    let r = app.call(Method::PUT, &thumbs, Some(&b.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
}

#[tokio::test]
async fn blocking_needs_a_participant_and_a_valid_token() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let (a, b, stranger) = (&users[0], &users[1], &users[2]);
    let chat = app.accepted_direct(a, b).await;
    let before = app.event_count().await;
    for action in ["block", "unblock"] {
        let path = format!("/v1/chats/{chat}/{action}");
        app.post(&path, stranger, None)
            .await
            .problem(404, "chat_not_found");
        app.post(&format!("/v1/chats/{}/{action}", Uuid::new_v4()), a, None)
            .await
            .problem(404, "chat_not_found");
        app.post(&format!("/v1/chats/123/{action}"), a, None)
            .await
            .problem(400, "invalid_id");
        app.call(Method::POST, &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(Method::POST, &path, Some("garbage"), None)
            .await
            .problem(401, "invalid_token");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn requesting_a_chat_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let b = app.register("wanted_recipient").await;
    let body = json!({ "recipient_id": b.id });
    let before = app.event_count().await;
    app.call(Method::POST, "/v1/chats/direct", None, Some(body.clone()))
        .await
        .problem(401, "missing_token");
    app.call(
        Method::POST,
        "/v1/chats/direct",
        Some("garbage"),
        Some(body),
    )
    .await
    .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}
