//! Invite links over HTTP: made, previewed, joined exactly `max_uses`
//! times under concurrency, revoked; the joins are ordinary joins.

use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::gateway_client::pos;
use crate::support::{Resp, TestApp};

async fn invite(
    app: &TestApp,
    chat: uuid::Uuid,
    who: &crate::support::User,
    body: serde_json::Value,
) -> Resp {
    app.post(&format!("/v1/chats/{chat}/invites"), who, Some(body))
        .await
}

#[tokio::test]
async fn fifty_parallel_joins_on_ten_uses_admit_exactly_ten() {
    let app = TestApp::spawn().await;
    let u = app.users(53).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "club").await;
    let made = invite(&app, chat, &u[0], json!({"max_uses": 10})).await;
    assert_eq!(made.status, 201, "{}", made.raw);
    let code = made.body["code"].as_str().expect("a code").to_owned();
    let joins = u[3..].iter().map(|who| {
        let (app, code) = (&app, code.clone());
        async move {
            app.post(&format!("/v1/invites/{code}/join"), who, None)
                .await
        }
    });
    let answers = join_all(joins).await;
    let admitted = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        admitted,
        10,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 200) {
        assert!(
            matches!(
                r.body["code"].as_str(),
                Some("invite_used_up" | "concurrency_conflict")
            ),
            "{}",
            r.raw
        );
    }
    let at = answers
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| pos(&r.body))
        .max()
        .unwrap_or(0);
    let d = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}?min_position={at}"),
            Some(&u[0].token),
            None,
        )
        .await;
    assert_eq!(
        d.body["members"].as_array().map(Vec::len),
        Some(13),
        "{}",
        d.raw
    );
}

#[tokio::test]
async fn an_invite_is_previewed_joined_and_revoked() {
    let app = TestApp::spawn().await;
    let u = app.users(5).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "hikers").await;
    invite(&app, chat, &u[1], json!({}))
        .await
        .problem(403, "not_an_admin");
    let made = invite(&app, chat, &u[0], json!({})).await;
    let code = made.body["code"].as_str().expect("a code").to_owned();
    let p = app
        .call(
            Method::GET,
            &format!("/v1/invites/{code}"),
            Some(&u[3].token),
            None,
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.raw);
    assert_eq!(
        (p.body["title"].clone(), p.body["members_count"].clone()),
        (json!("hikers"), json!(3))
    );
    let r = app
        .post(&format!("/v1/invites/{code}/join"), &u[3], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let events = app.events(&format!("chat-{chat}")).await;
    let (t, joined) = events.last().expect("an event").clone();
    assert_eq!(t, "MembersAdded");
    assert_eq!(joined["user_ids"], json!([u[3].id]));
    assert!(joined["invite"].is_string(), "{joined}");
    assert!(
        !joined.to_string().contains(&code),
        "the code itself is never recorded"
    );
    let r = app
        .delete(&format!("/v1/chats/{chat}/invites/{code}"), &u[0])
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    app.post(&format!("/v1/invites/{code}/join"), &u[4], None)
        .await
        .problem(404, "invite_not_found");
    app.post("/v1/invites/not-a-code/join", &u[4], None)
        .await
        .problem(404, "invite_not_found");
}
