//! System entries in history (`kind: system`): who did what to whom,
//! between the messages where it happened, from each member's own join
//! through their leave, never unread.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::pos;
use crate::support::{Resp, TestApp, User};

async fn get(app: &TestApp, who: &User, path: &str, at: u64) -> Resp {
    app.get_at(who, path, at).await
}

/// The history page as short labels: `"m:<text>"` for a message,
/// `"s:<action>"` for an entry.
fn labels(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i["kind"].as_str() {
            Some("system") => format!("s:{}", i["action"].as_str().unwrap()),
            _ => format!("m:{}", i["text"].as_str().unwrap_or("")),
        })
        .collect()
}

/// Every item of a chat's history for `who`, walked `limit` at a time in
/// `direction` ("before": newest page first; "after": from the start).
async fn walk(
    app: &TestApp,
    who: &User,
    chat: Uuid,
    at: u64,
    limit: u32,
    after: bool,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut query = if after {
        format!("after_seq=0&limit={limit}")
    } else {
        format!("limit={limit}")
    };
    loop {
        let r = get(app, who, &format!("/v1/chats/{chat}/messages?{query}"), at).await;
        let page = r.body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit as usize);
        if after {
            all.extend(page);
        } else {
            all.splice(0..0, page);
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => query = format!("cursor={c}&limit={limit}"),
            None => return all,
        }
    }
}

#[tokio::test]
async fn history_shows_who_did_what_to_whom_where_it_happened_and_only_while_one_was_in() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (owner, ana, ben, cat) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app.group(owner, &[ana, cat], "crew").await;
    let m1 = app.send(chat, owner, "m1", "first").await;
    let added = app
        .post(
            &format!("/v1/chats/{chat}/members"),
            owner,
            Some(json!({"user_ids": [ben.id]})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.raw);
    let m2 = app.send(chat, ben, "m2", "hello all").await;
    let m2_id = m2.id("message_id");
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&owner.token),
            Some(json!({"title": "the crew"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    let pinned = app
        .post(
            &format!("/v1/chats/{chat}/messages/{m2_id}/pin"),
            owner,
            None,
        )
        .await;
    assert!(pinned.status.is_success(), "{}", pinned.raw);
    let role = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{chat}/members/{}/role", ana.id),
            Some(&owner.token),
            Some(json!({"role": "moderator"})),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.raw);
    let ban = app
        .post(
            &format!("/v1/chats/{chat}/bans/{}", ben.id),
            ana,
            Some(json!({"reason": "off topic"})),
        )
        .await;
    assert!(ban.status.is_success(), "{}", ban.raw);
    let m3 = app.send(chat, owner, "m3", "after the ban").await;
    let at = pos(&m3.body);

    let whole = get(&app, owner, &format!("/v1/chats/{chat}/messages"), at).await;
    let items = whole.body["items"].as_array().unwrap().clone();
    assert_eq!(
        labels(&items),
        [
            "s:created",
            "m:first",
            "s:added",
            "m:hello all",
            "s:renamed",
            "s:pinned",
            "s:role_changed",
            "s:removed",
            "s:banned",
            "m:after the ban",
        ]
    );
    let entry = |action: &str| {
        items
            .iter()
            .find(|i| i["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {items:?}"))
            .clone()
    };
    // Who did what to whom, placed after the message that was last.
    let e = entry("added");
    assert_eq!(e["actor_id"], json!(owner.id));
    assert_eq!(e["user_ids"], json!([ben.id]));
    assert_eq!(e["seq"], m1.body["seq"]);
    assert_eq!(entry("renamed")["title"], "the crew");
    assert_eq!(entry("pinned")["message_id"], json!(m2_id));
    let e = entry("role_changed");
    assert_eq!(
        (&e["actor_id"], &e["user_ids"], &e["role"]),
        (&json!(owner.id), &json!([ana.id]), &json!("moderator"))
    );
    let e = entry("banned");
    assert_eq!(
        (&e["actor_id"], &e["user_ids"]),
        (&json!(ana.id), &json!([ben.id]))
    );
    assert!(
        !whole.raw.contains("off topic"),
        "the reason stays with the admins"
    );
    assert_eq!(
        entry("created")["user_ids"],
        json!([owner.id, ana.id, cat.id])
    );

    // Pages in both directions, any size, give the same items once each.
    for limit in [1, 2, 3] {
        assert_eq!(walk(&app, owner, chat, at, limit, false).await, items);
        assert_eq!(walk(&app, owner, chat, at, limit, true).await, items);
    }
    // after_seq / before_seq keep meaning messages: entries after message 1
    // are newer than it.
    let newer = get(
        &app,
        owner,
        &format!("/v1/chats/{chat}/messages?after_seq={}", m1.body["seq"]),
        at,
    )
    .await;
    assert_eq!(
        labels(newer.body["items"].as_array().unwrap())[0],
        "s:added"
    );

    // Ben sees from his own add through his removal: not the creation, not
    // the ban that followed it, nothing after.
    let bens = get(&app, ben, &format!("/v1/chats/{chat}/messages"), at).await;
    assert_eq!(
        labels(bens.body["items"].as_array().unwrap()),
        [
            "s:added",
            "m:hello all",
            "s:renamed",
            "s:pinned",
            "s:role_changed",
            "s:removed"
        ]
    );

    // Entries are never unread: Ana has three messages from others.
    let list = get(&app, ana, "/v1/chats", at).await;
    let row = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chat_id"] == json!(chat))
        .unwrap()
        .clone();
    assert_eq!(row["unread_count"], 3, "{row}");

    // Clearing the chat clears its entries too.
    let cleared = app.delete(&format!("/v1/chats/{chat}"), ana).await;
    assert!(cleared.status.is_success(), "{}", cleared.raw);
    let renamed_again = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&owner.token),
            Some(json!({"title": "the crew", "description": "same title"})),
        )
        .await;
    let anas = get(
        &app,
        ana,
        &format!("/v1/chats/{chat}/messages"),
        pos(&renamed_again.body),
    )
    .await;
    assert_eq!(
        labels(anas.body["items"].as_array().unwrap()),
        ["s:info_updated"],
        "a change that keeps the title is no rename"
    );
}

#[tokio::test]
async fn joining_through_a_link_and_leaving_show_as_the_members_own_doing() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (owner, ana, ben, cat) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app.group(owner, &[ana, cat], "open").await;
    let invite = app
        .post(&format!("/v1/chats/{chat}/invites"), owner, Some(json!({})))
        .await;
    assert_eq!(invite.status, 201, "{}", invite.raw);
    let code = invite.body["code"].as_str().unwrap().to_owned();
    let joined = app
        .post(&format!("/v1/invites/{code}/join"), ben, None)
        .await;
    assert!(joined.status.is_success(), "{}", joined.raw);
    let left = app
        .post(&format!("/v1/chats/{chat}/leave"), ana, None)
        .await;
    assert!(left.status.is_success(), "{}", left.raw);
    let history = get(
        &app,
        ben,
        &format!("/v1/chats/{chat}/messages"),
        pos(&left.body),
    )
    .await;
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(labels(items), ["s:joined", "s:left"]);
    assert_eq!(items[0]["actor_id"], json!(ben.id));
    assert_eq!(items[1]["user_ids"], json!([ana.id]));
    assert!(items.iter().all(|i| i["seq"] == 0));
}
