//! `GET /v1/me/export`: the caller's own data as JSON lines, paged past
//! one page of messages, with nothing of anyone else's and no secret.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway_client::pos;
use crate::support::TestApp;

#[tokio::test]
async fn an_export_holds_what_the_user_provided_and_nothing_else() {
    let app = TestApp::spawn().await;
    let [ada, bob, cy]: [_; 3] = app.users(3).await.try_into().ok().unwrap();
    let group = app.group(&ada, &[&bob, &cy], "Team").await;

    let hello = app
        .send(group, &ada, "c-hello", "hello")
        .await
        .id("message_id");
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{group}/messages/{hello}"),
            Some(&ada.token),
            Some(json!({"text": "hello all"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let gone = app
        .send(group, &ada, "c-gone", "a secret word")
        .await
        .id("message_id");
    let r = app
        .delete(
            &format!("/v1/chats/{group}/messages/{gone}?for=everyone"),
            &ada,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let theirs = app
        .send(group, &bob, "c-bob", "bob's own words")
        .await
        .id("message_id");
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{group}/messages/{theirs}/reactions/👍"),
            Some(&ada.token),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    // More than one page of messages (500).
    for i in 0..505 {
        let r = app
            .send(group, &ada, &format!("bulk-{i}"), &format!("bulk {i}"))
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
    }
    let r = app
        .post(&format!("/v1/users/{}/block", cy.id), &ada, None)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let at = pos(&r.body);

    let r = app
        .call(
            Method::GET,
            &format!("/v1/me/export?min_position={at}"),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = r
        .raw
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let of = |t: &str| -> Vec<&Value> { lines.iter().filter(|l| l["type"] == t).collect() };

    assert_eq!(lines[0]["type"], "export");
    assert_eq!(of("profile")[0]["user_id"], ada.id.to_string());
    let account = of("account")[0];
    assert_eq!(account["mfa_enabled"], false);
    assert!(!account["sessions"].as_array().unwrap().is_empty());
    assert_eq!(of("chat").len(), 1);
    assert_eq!(of("chat")[0]["title"], "Team");
    assert_eq!(of("block")[0]["user_id"], cy.id.to_string());
    assert_eq!(of("reaction")[0]["message_id"], theirs.to_string());

    let messages = of("message");
    assert_eq!(
        messages.len(),
        2 + 505,
        "every message ada sent, across pages"
    );
    let ids: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    assert_eq!(ids.len(), messages.len(), "each once");
    let edited = messages
        .iter()
        .find(|m| m["message_id"] == hello.to_string())
        .unwrap();
    assert_eq!(edited["text"], "hello all");
    assert_eq!(edited["versions"][0]["text"], "hello");
    let deleted = messages
        .iter()
        .find(|m| m["message_id"] == gone.to_string())
        .unwrap();
    assert_eq!(
        (deleted["text"].is_null(), deleted["deleted_at"].is_string()),
        (true, true)
    );

    // Nobody else's words, nothing erased, no secret.
    for absent in [
        "bob's own words",
        "a secret word",
        "password",
        "$argon2",
        "refresh_token",
    ] {
        assert!(!r.raw.contains(absent), "{absent:?} is in the export");
    }

    // Another user's export is theirs alone.
    let r = app
        .call(Method::GET, "/v1/me/export", Some(&bob.token), None)
        .await;
    let bobs: Vec<Value> = r
        .raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(bobs.iter().filter(|l| l["type"] == "message").count(), 1);
    assert!(!r.raw.contains("hello all"));
}
