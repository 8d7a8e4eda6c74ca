//! Moderators, ownership, bans and the member cap over HTTP.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{message, pos};
use crate::support::{Resp, TestApp, User, test_config};

async fn put(app: &TestApp, path: &str, who: &User, body: Value) -> Resp {
    app.call(Method::PUT, path, Some(&who.token), Some(body))
        .await
}

async fn add(app: &TestApp, chat: Uuid, who: &User, users: &[&User]) -> Resp {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    app.post(
        &format!("/v1/chats/{chat}/members"),
        who,
        Some(json!({"user_ids": ids})),
    )
    .await
}

#[tokio::test]
async fn a_moderator_deletes_and_bans_and_a_ban_keeps_the_user_out_until_lifted() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (owner, moderator, member, other) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app
        .group(owner, &[moderator, member, other], "modded")
        .await;
    let r = put(
        &app,
        &format!("/v1/chats/{chat}/members/{}/role", moderator.id),
        owner,
        json!({"role": "moderator"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    // A moderator changes no roles.
    put(
        &app,
        &format!("/v1/chats/{chat}/members/{}/role", member.id),
        moderator,
        json!({"role": "moderator"}),
    )
    .await
    .problem(403, "not_an_admin");

    // Deleting someone else's message for everyone.
    let mid = app
        .send(chat, member, "spam", "buy now")
        .await
        .id("message_id");
    let r = app
        .delete(
            &format!("/v1/chats/{chat}/messages/{mid}?for=everyone"),
            moderator,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);

    // Banning: the member is removed, and cannot be added back.
    let r = app
        .post(
            &format!("/v1/chats/{chat}/bans/{}", member.id),
            moderator,
            Some(json!({"reason": "spam"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let at = pos(&r.body);
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}?min_position={at}"),
            Some(&owner.token),
            None,
        )
        .await;
    let members: Vec<&str> = detail.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user_id"].as_str())
        .collect();
    assert!(
        !members.contains(&member.id.to_string().as_str()),
        "{}",
        detail.raw
    );
    let role_of = |id: Uuid| {
        detail.body["members"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["user_id"] == id.to_string()))
            .map(|m| m["role"].clone())
    };
    assert_eq!(role_of(moderator.id), Some(json!("moderator")));
    add(&app, chat, owner, &[member])
        .await
        .problem(403, "user_banned");
    let bans = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/bans?min_position={at}"),
            Some(&moderator.token),
            None,
        )
        .await;
    assert_eq!(bans.status, 200, "{}", bans.raw);
    assert_eq!(bans.body["items"][0]["user_id"], member.id.to_string());
    assert_eq!(bans.body["items"][0]["reason"], "spam");
    app.call(
        Method::GET,
        &format!("/v1/chats/{chat}/bans"),
        Some(&other.token),
        None,
    )
    .await
    .problem(403, "not_a_moderator");
    // A moderator bans no admins.
    app.post(
        &format!("/v1/chats/{chat}/bans/{}", owner.id),
        moderator,
        None,
    )
    .await
    .problem(403, "not_a_moderator");

    // Lifted: they can be added again.
    let r = app
        .delete(&format!("/v1/chats/{chat}/bans/{}", member.id), owner)
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = add(&app, chat, owner, &[member]).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    message(&app, chat, member, "back").await;
}

#[tokio::test]
async fn the_owner_hands_the_group_over() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "heirs").await;
    put(
        &app,
        &format!("/v1/chats/{chat}/owner"),
        &u[1],
        json!({"user_id": u[2].id}),
    )
    .await
    .problem(403, "not_an_admin");
    let r = put(
        &app,
        &format!("/v1/chats/{chat}/owner"),
        &u[0],
        json!({"user_id": u[1].id}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let d = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}?min_position={}", pos(&r.body)),
            Some(&u[0].token),
            None,
        )
        .await;
    let role = |id: Uuid| {
        d.body["members"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["user_id"] == id.to_string()))
            .map(|m| m["role"].clone())
    };
    assert_eq!(
        (role(u[1].id), role(u[0].id)),
        (Some(json!("owner")), Some(json!("admin")))
    );
}

#[tokio::test]
async fn the_member_cap_is_checked_on_create_and_add() {
    let db = chat_testkit::TestDb::create().await;
    let mut config = test_config(&db);
    config.command.policy.max_group_members = 4;
    let app = TestApp::spawn_with(db, config).await;
    let u = app.users(5).await;
    let before = app.event_count().await;
    let r = app
        .post(
            "/v1/chats/group",
            &u[0],
            Some(json!({"title": "big", "member_ids": [u[1].id, u[2].id, u[3].id, u[4].id]})),
        )
        .await;
    r.problem(400, "group_too_large");
    assert_eq!(app.event_count().await, before);
    let chat = app.group(&u[0], &[&u[1], &u[2], &u[3]], "full").await;
    add(&app, chat, &u[0], &[&u[4]])
        .await
        .problem(409, "group_full");
}
