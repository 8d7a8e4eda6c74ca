//! Channels end to end: admins post, subscribers read, react and mark
//! read; public ones are found and subscribed to, private ones joined by
//! link; what is about one subscriber reaches only them.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{Ws, pos};
use crate::support::{Resp, TestApp, User};

async fn get(app: &TestApp, who: &User, path: &str, at: u64) -> Resp {
    app.get_at(who, path, at).await
}

async fn channel(app: &TestApp, owner: &User, title: &str, public: bool) -> Uuid {
    let r = app
        .post(
            "/v1/chats/channel",
            owner,
            Some(json!({"title": title, "public": public})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.id("chat_id")
}

async fn subscribe(app: &TestApp, chat: Uuid, who: &User) -> Resp {
    app.post(&format!("/v1/chats/{chat}/subscribe"), who, None)
        .await
}

fn row(list: &Value, chat: Uuid) -> Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chat_id"] == json!(chat))
        .cloned()
        .unwrap_or_else(|| panic!("{chat} not listed in {list}"))
}

#[tokio::test]
async fn admins_post_subscribers_read_react_and_count_unread() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (owner, ana, ben, cat) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = channel(&app, owner, "Daily news", true).await;
    app.send(chat, owner, "p0", "before anyone came").await;
    for s in [ana, ben] {
        let r = subscribe(&app, chat, s).await;
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    // Subscribing twice changes nothing.
    let again = subscribe(&app, chat, ana).await;
    assert_eq!(again.status, 200, "{}", again.raw);
    // Only admins post.
    app.send(chat, ana, "a1", "me too")
        .await
        .problem(403, "not_an_admin");
    let p1 = app.send(chat, owner, "p1", "first post").await;
    let p2 = app.send(chat, owner, "p2", "second post").await;
    assert_eq!(p2.status, 201, "{}", p2.raw);
    let mid = p1.id("message_id");
    // Subscribers react and mark read with their own record.
    let react = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{chat}/messages/{mid}/reactions/%F0%9F%91%8D"),
            Some(&ana.token),
            None,
        )
        .await;
    assert!(react.status.is_success(), "{}", react.raw);
    let read = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            ana,
            Some(json!({"up_to_seq": p1.body["seq"]})),
        )
        .await;
    assert!(read.status.is_success(), "{}", read.raw);
    let at = pos(&read.body);

    // The whole history, earlier posts included; unread counts from seqs.
    let h = get(&app, ben, &format!("/v1/chats/{chat}/messages"), at).await;
    let texts: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "system")
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before anyone came", "first post", "second post"]);
    let list = get(&app, ana, "/v1/chats", at).await;
    let r = row(&list.body, chat);
    assert_eq!(
        (r["kind"].as_str(), r["unread_count"].as_i64()),
        (Some("channel"), Some(1))
    );
    let list = get(&app, ben, "/v1/chats", at).await;
    assert_eq!(row(&list.body, chat)["unread_count"], 2);

    // The details name those with a role; subscribers are a count.
    let d = get(&app, ana, &format!("/v1/chats/{chat}"), at).await;
    assert_eq!(d.body["members_count"], 3, "{}", d.raw);
    assert_eq!(
        d.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].clone())
            .collect::<Vec<_>>(),
        [json!(owner.id)]
    );
    // Receipts: only one's own in a channel.
    let receipts = get(
        &app,
        owner,
        &format!("/v1/chats/{chat}/messages/{mid}/receipts"),
        at,
    )
    .await;
    assert_eq!(receipts.body["items"], json!([]), "{}", receipts.raw);
    let mine = get(
        &app,
        ana,
        &format!("/v1/chats/{chat}/messages/{mid}/receipts"),
        at,
    )
    .await;
    assert_eq!(mine.body["items"][0]["user_id"], json!(ana.id));

    // A subscriber's own preferences and hides work with their record.
    let muted = app
        .post(&format!("/v1/chats/{chat}/mute"), ben, Some(json!({})))
        .await;
    assert!(muted.status.is_success(), "{}", muted.raw);
    let hidden = app
        .delete(&format!("/v1/chats/{chat}/messages/{mid}?for=me"), ben)
        .await;
    assert!(hidden.status.is_success(), "{}", hidden.raw);
    let list = get(&app, ben, "/v1/chats", pos(&hidden.body)).await;
    let r = row(&list.body, chat);
    assert_eq!(
        (r["muted"].as_bool(), r["unread_count"].as_i64()),
        (Some(true), Some(1))
    );

    // Nobody is added; the owner hands over before leaving; others leave.
    app.post(
        &format!("/v1/chats/{chat}/members"),
        owner,
        Some(json!({"user_ids": [cat.id]})),
    )
    .await
    .problem(409, "channel_join_only");
    app.post(&format!("/v1/chats/{chat}/leave"), owner, None)
        .await
        .problem(409, "owner_cannot_leave");
    let left = app
        .post(&format!("/v1/chats/{chat}/leave"), ben, None)
        .await;
    assert!(left.status.is_success(), "{}", left.raw);
    let d = get(&app, ana, &format!("/v1/chats/{chat}"), pos(&left.body)).await;
    assert_eq!(d.body["members_count"], 2);
}

#[tokio::test]
async fn public_channels_are_found_private_ones_joined_by_link_and_bans_keep_people_out() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let (owner, ana, ben) = (&u[0], &u[1], &u[2]);
    let public = channel(&app, owner, "Rust news", true).await;
    let private = channel(&app, owner, "Rust insiders", false).await;
    let at = pos(&subscribe(&app, public, ana).await.body);
    let found = get(&app, ben, "/v1/chats/search?q=rust", at).await;
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", found.raw);
    assert_eq!(
        (
            &items[0]["chat_id"],
            &items[0]["subscribers"],
            &items[0]["subscribed"]
        ),
        (&json!(public), &json!(2), &json!(false))
    );
    // A private channel is as good as absent without its link.
    subscribe(&app, private, ben)
        .await
        .problem(404, "chat_not_found");
    let invite = app
        .post(
            &format!("/v1/chats/{private}/invites"),
            owner,
            Some(json!({"max_uses": 1})),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.raw);
    let code = invite.body["code"].as_str().unwrap().to_owned();
    let preview = app
        .call(
            Method::GET,
            &format!("/v1/invites/{code}"),
            Some(&ben.token),
            None,
        )
        .await;
    assert_eq!(preview.body["kind"], "channel", "{}", preview.raw);
    let joined = app
        .post(&format!("/v1/invites/{code}/join"), ben, None)
        .await;
    assert!(joined.status.is_success(), "{}", joined.raw);
    app.post(&format!("/v1/invites/{code}/join"), ana, None)
        .await
        .problem(409, "invite_used_up");

    // A ban removes the subscriber and keeps them out.
    let ban = app
        .post(
            &format!("/v1/chats/{public}/bans/{}", ana.id),
            owner,
            Some(json!({})),
        )
        .await;
    assert!(ban.status.is_success(), "{}", ban.raw);
    subscribe(&app, public, ana)
        .await
        .problem(403, "user_banned");
    let list = get(&app, ana, "/v1/chats", pos(&ban.body)).await;
    assert_eq!(row(&list.body, public)["left"], true);
}

#[tokio::test]
async fn a_post_reaches_every_connected_subscriber_and_their_own_doings_only_them() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let (owner, ana, ben) = (&u[0], &u[1], &u[2]);
    let chat = channel(&app, owner, "Live", true).await;
    subscribe(&app, chat, ana).await;
    let mut ana_ws = Ws::connect(&app.base, ana).await;
    ana_ws.subscribe(None).await;
    // Ben's subscription and his read marker are his business alone.
    let sub = subscribe(&app, chat, ben).await;
    assert_eq!(sub.status, 200, "{}", sub.raw);
    let post = app.send(chat, owner, "p1", "hello subscribers").await;
    let read = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            ben,
            Some(json!({"up_to_seq": post.body["seq"]})),
        )
        .await;
    let post2 = app.send(chat, owner, "p2", "again").await;
    let seen = ana_ws.events_through(pos(&post2.body)).await;
    let types: Vec<&str> = seen
        .iter()
        .map(|f| f["event"]["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types, ["MessageSent", "MessageSent"], "{seen:#?}");
    let mut ben_ws = Ws::connect(&app.base, ben).await;
    ben_ws.subscribe(Some(pos(&sub.body) - 1)).await;
    let his = ben_ws.events_through(pos(&read.body)).await;
    let types: Vec<&str> = his
        .iter()
        .map(|f| f["event"]["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        ["ChannelSubscribed", "MessageSent", "ReadMarkerMoved"],
        "the resume replays his own, as live"
    );
}
