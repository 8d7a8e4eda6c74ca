//! Edit history: `GET …/messages/{id}/edits` answers every version to
//! whoever can see the message, and nothing of one deleted for everyone.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{add_members, pos};
use crate::support::{Resp, TestApp, User};

async fn edit(app: &TestApp, chat: Uuid, mid: Uuid, who: &User, text: &str) -> u64 {
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}/messages/{mid}"),
            Some(&who.token),
            Some(json!({ "text": text })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    pos(&r.body)
}

async fn edits(app: &TestApp, who: &User, chat: Uuid, mid: Uuid, at: u64) -> Resp {
    app.call(
        Method::GET,
        &format!("/v1/chats/{chat}/messages/{mid}/edits?min_position={at}"),
        Some(&who.token),
        None,
    )
    .await
}

#[tokio::test]
async fn every_version_is_answered_oldest_first_to_members_who_see_it() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "edits").await;
    let mid = app.send(chat, &u[0], "e1", "one").await.id("message_id");
    edit(&app, chat, mid, &u[0], "two").await;
    let at = edit(&app, chat, mid, &u[0], "three").await;

    let r = edits(&app, &u[1], chat, mid, at).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let items = r.body["items"].as_array().expect("items");
    let texts: Vec<&str> = items.iter().filter_map(|v| v["text"].as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(items[0]["edited_at"], Value::Null);
    assert!(items[1]["edited_at"].is_string() && items[2]["edited_at"].is_string());
    assert_eq!(
        items
            .iter()
            .map(|v| v["version"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );

    // An outsider, a member who joined after it, and one who hid it see nothing.
    edits(&app, &u[3], chat, mid, at)
        .await
        .problem(404, "chat_not_found");
    let added = add_members(&app, chat, &u[0], &[&u[3]]).await;
    edits(&app, &u[3], chat, mid, added)
        .await
        .problem(404, "message_not_found");
    let r = app
        .delete(&format!("/v1/chats/{chat}/messages/{mid}?for=me"), &u[2])
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    edits(&app, &u[2], chat, mid, pos(&r.body))
        .await
        .problem(404, "message_not_found");
}

#[tokio::test]
async fn nothing_of_a_message_deleted_for_everyone_is_served_or_kept() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let mid = app
        .send(chat, &u[0], "d1", "first draft")
        .await
        .id("message_id");
    edit(&app, chat, mid, &u[0], "second draft").await;
    let r = app
        .delete(
            &format!("/v1/chats/{chat}/messages/{mid}?for=everyone"),
            &u[0],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let at = pos(&r.body);
    for who in &u {
        edits(&app, who, chat, mid, at)
            .await
            .problem(409, "message_deleted");
    }
    let pool = app.db().pool(1).await;
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rm_messages.versions WHERE chat_id = $1")
            .bind(chat)
            .fetch_one(&pool)
            .await
            .expect("a count");
    assert_eq!(kept, 0);
}

#[tokio::test]
async fn a_rebuild_of_the_messages_projection_keeps_the_history() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let mid = app.send(chat, &u[0], "r1", "before").await.id("message_id");
    let at = edit(&app, chat, mid, &u[0], "after").await;
    let before = edits(&app, &u[1], chat, mid, at).await.body;
    let pool = app.db().pool(2).await;
    chat_projector::rebuild(&pool, &*app.state.store, Some("messages"))
        .await
        .expect("the rebuild succeeds");
    assert_eq!(edits(&app, &u[1], chat, mid, at).await.body, before);
}
