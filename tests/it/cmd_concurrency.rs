//! Concurrency and idempotency of commands, end to end (design.md hard
//! problems 1 and 2).

use std::collections::BTreeSet;

use crate::support::TestApp;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn fifty_concurrent_sends_from_five_users_get_seqs_one_to_fifty() {
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let others: Vec<_> = users[1..].iter().collect();
    let chat = app.group(&users[0], &others, "busy").await;

    let sends = (0..50).map(|i| {
        let (app, user) = (&app, &users[i % 5]);
        async move {
            app.send(chat, user, &format!("m-{i}"), &format!("message {i}"))
                .await
        }
    });
    let answers = join_all(sends).await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    }
    let seqs: BTreeSet<u64> = answers
        .iter()
        .map(|a| a.body["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=50).collect(), "no gaps, no duplicates");

    let stored: Vec<u64> = app
        .events(&format!("chat-{chat}"))
        .await
        .into_iter()
        .filter(|(t, _)| t == "MessageSent")
        .map(|(_, p)| p["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(stored, (1..=50).collect::<Vec<_>>(), "stored in seq order");
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_idempotency_key_append_once() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "idem").await;
    let before = app.event_count().await;

    let calls = (0..20).map(|_| {
        let app = &app;
        let token = users[0].token.clone();
        async move {
            let body = json!({ "title": "renamed" });
            app.call_with(
                Method::PATCH,
                &format!("/v1/chats/{chat}"),
                Some(&token),
                Some(body),
                &[("Idempotency-Key", "rename-1")],
            )
            .await
        }
    });
    let answers = join_all(calls).await;
    let first = &answers[0];
    assert_eq!(first.status, StatusCode::OK, "{}", first.raw);
    for a in &answers {
        assert_eq!(
            (a.status, &a.raw),
            (first.status, &first.raw),
            "identical answers"
        );
    }
    assert_eq!(app.event_count().await, before + 1, "exactly one append");
    let replayed = answers
        .iter()
        .filter(|a| a.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 19);
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_refused() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "idem").await;
    let path = format!("/v1/chats/{chat}");
    let key = [("Idempotency-Key", "k-1")];
    let a = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(json!({"title": "one"})),
            &key,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let before = app.event_count().await;
    let b = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(json!({"title": "two"})),
            &key,
        )
        .await;
    b.problem(422, "idempotency_key_reused");
    assert_eq!(app.event_count().await, before);
}

/// A different `If-Match` is a different request, not a retry: neither a
/// bad one nor a stale one gets the first answer replayed (the API fuzzer
/// found a malformed one answered with the replay).
#[tokio::test]
async fn the_same_key_with_a_different_if_match_is_refused() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "idem").await;
    let path = format!("/v1/chats/{chat}");
    let body = json!({"title": "one"});
    let first = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(body.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.raw);
    let before = app.event_count().await;
    for if_match in ["not-a-version", "1"] {
        let again = app
            .call_with(
                Method::PATCH,
                &path,
                Some(&users[0].token),
                Some(body.clone()),
                &[("Idempotency-Key", "k-1"), ("If-Match", if_match)],
            )
            .await;
        again.problem(422, "idempotency_key_reused");
    }
    assert_eq!(app.event_count().await, before);
    // The retry it was stays a retry.
    let retry = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(body),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!((retry.status, retry.body), (first.status, first.body));
}

#[tokio::test]
async fn idempotency_survives_a_restart_of_the_app() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "before")
        .await;
    let key = [("Idempotency-Key", "send-after-restart")];
    let body = json!({ "client_msg_id": "c-1", "kind": "text", "text": "hello" });
    let path = format!("/v1/chats/{chat}/messages");
    let first = app
        .call_with(
            Method::POST,
            &path,
            Some(&users[1].token),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);

    let app = app.restart().await;
    let before = app.event_count().await;
    let again = app
        .call_with(Method::POST, &path, Some(&users[1].token), Some(body), &key)
        .await;
    assert_eq!(
        (again.status, again.raw.as_str()),
        (first.status, first.raw.as_str()),
        "byte-for-byte"
    );
    assert_eq!(app.event_count().await, before, "nothing appended");
}

#[tokio::test]
async fn a_resent_client_msg_id_without_a_key_returns_the_original_message() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let a = app.send(chat, &users[0], "same", "hi").await;
    assert_eq!(a.status, StatusCode::CREATED);
    let app = app.restart().await;
    let before = app.event_count().await;
    let b = app.send(chat, &users[0], "same", "hi").await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.raw);
    assert_eq!(
        (b.body["message_id"].clone(), b.body["seq"].clone()),
        (a.body["message_id"].clone(), a.body["seq"].clone())
    );
    assert_eq!(app.event_count().await, before);
}

/// Two nodes on one database. Node one has the peer's user stream cached
/// (it decided a send with it); the peer then blocks the sender through node
/// two. Node one's cache follows the log, so it stops taking the stale
/// state as a fact: the sender's next send through node one is refused.
#[tokio::test]
async fn a_block_made_on_another_node_reaches_this_nodes_cached_facts() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (
        app.register("node_alice").await,
        app.register("node_bob").await,
    );
    let chat = app.accepted_direct(&alice, &bob).await;
    let first = app
        .send(chat, &alice, "warm", "the cache holds bob now")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);

    let other = chat::App::build(app.config.clone()).await.unwrap();
    let other_base = format!("http://{}", other.local_addr());
    tokio::spawn(other.run_until_stopped(std::future::pending()));
    let blocked = app
        .http
        .post(format!("{other_base}/v1/users/{}/block", alice.id))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert!(blocked.status().is_success(), "{}", blocked.status());

    // Node one learns of the block through its tail (NOTIFY, then one read):
    // give it a bounded moment, then the send must be refused.
    let mut last = None;
    for i in 0..100 {
        let r = app
            .send(chat, &alice, &format!("after-{i}"), "still?")
            .await;
        if r.status == StatusCode::FORBIDDEN {
            return;
        }
        last = Some(r.raw);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("node one kept accepting sends after the block: {last:?}");
}
