//! Who is told what: collapse, encryption and VAPID, online, muted, dnd,
//! mentions, gone devices and retries, the subscription routes.

use std::time::Duration;

use serde_json::json;

use super::receiver::{Receiver, app, app_with_delay, covered, quiet, say, subscribe, text};
use crate::gateway_client::Ws;
use crate::support::User;

#[tokio::test]
async fn a_burst_reaches_an_offline_device_once_encrypted_and_signed() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let phone = rx.device("ok").await;
    subscribe(&app, &bob, &phone).await;

    for t in ["one", "two", "three"] {
        say(&app, chat, &alice, text(t)).await;
    }
    let got = rx.until(&phone, |g| covered(g) >= 3).await;
    assert_eq!(covered(&got), 3, "every message covered once: {got:?}");
    let last = &got.last().unwrap();
    let p = &last["payload"];
    assert_eq!(p["type"], "message");
    assert_eq!(p["chat_id"], chat.to_string());
    assert_eq!(p["sender_id"], alice.id.to_string());
    assert_eq!(p["preview"], "three");
    // The words every kind of device shows (chat_domain::push::alert).
    assert_eq!(
        (&p["title"], &p["body"]),
        (&p["sender_name"], &json!("three"))
    );
    assert_eq!(p["badge"], 3, "the badge is bob's unread total");
    assert_eq!(last["topic"], chat.simple().to_string());
    assert_eq!(last["urgency"], "normal");
    // Alice (the sender) has no device, and nothing more comes.
    quiet(&rx, &phone, got.len()).await;

    // Bob's own setting: no sender, no text on his lock screen.
    let r = app
        .call(
            reqwest::Method::PUT,
            "/v1/me/settings",
            Some(&bob.token),
            Some(json!({"push_preview": "nothing"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    say(&app, chat, &alice, text("secret")).await;
    let got = rx.until(&phone, |g| covered(g) >= 4).await;
    let p = &got.last().unwrap()["payload"];
    assert_eq!(
        (&p["preview"], &p["sender_name"]),
        (&json!(null), &json!(null))
    );
    assert_eq!(
        (&p["title"], &p["body"]),
        (&json!("New message"), &json!("New message"))
    );
    assert_eq!(p["badge"], 4);
    let me = app.get("/v1/me", &bob).await;
    assert_eq!(me.body["settings"]["push_preview"], "nothing");
    assert_eq!(me.body["total_unread"], 4, "the badge is this figure");
}

#[tokio::test]
async fn online_muted_and_dnd_users_are_left_alone_but_mentions_go_through() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob, carol]: [User; 3] = app.users(3).await.try_into().ok().unwrap();
    let chat = app.group(&alice, &[&bob, &carol], "push").await;
    let phone = rx.device("ok").await;
    subscribe(&app, &bob, &phone).await;

    // Connected: he sees it live.
    let ws = Ws::connect(&app.base, &bob).await;
    say(&app, chat, &alice, text("while online")).await;
    quiet(&rx, &phone, 0).await;
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Muted: quiet, except a mention.
    let r = app
        .post(&format!("/v1/chats/{chat}/mute"), &bob, None)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    say(&app, chat, &alice, text("muted")).await;
    quiet(&rx, &phone, 0).await;
    let mut mention = text("look");
    mention["mentions"] = json!([bob.id]);
    say(&app, chat, &alice, mention).await;
    let got = rx.until(&phone, |g| !g.is_empty()).await;
    assert_eq!(got[0]["payload"]["type"], "mention");
    assert_eq!(got[0]["urgency"], "high");
    assert_eq!(got[0]["payload"]["chat_title"], "push");

    // Do not disturb: nothing, not even a mention.
    let r = app
        .call(
            reqwest::Method::PUT,
            "/v1/me/status",
            Some(&bob.token),
            Some(json!({"status": "dnd"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let mut mention = text("again");
    mention["mentions"] = json!([bob.id]);
    say(&app, chat, &alice, mention).await;
    quiet(&rx, &phone, 1).await;
}

#[tokio::test]
async fn a_gone_device_is_removed_and_a_503_is_retried() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let old = rx.device("gone").await;
    let flaky = rx.device("flaky:2").await;
    let old_id = subscribe(&app, &bob, &old).await;
    let flaky_id = subscribe(&app, &bob, &flaky).await;

    say(&app, chat, &alice, text("hello")).await;
    let got = rx.until(&flaky, |g| !g.is_empty()).await;
    assert_eq!(covered(&got), 1);
    assert_eq!(
        rx.state(&flaky).await["attempts"],
        3,
        "two 503s, then taken"
    );
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscription_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [flaky_id.to_string()], "the 410 one is gone");
    assert_ne!(old_id, flaky_id);
}

#[tokio::test]
async fn subscriptions_are_checked_listed_and_removed() {
    let rx = Receiver::start();
    let app = app().await;
    let [bob, eve]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let device = rx.device("ok").await;

    let key = app.get("/v1/push/vapid-public-key", &bob).await;
    assert_eq!(key.status, 200);
    assert_eq!(
        key.body["public_key"].as_str().unwrap().len(),
        87,
        "65 bytes"
    );

    // Only allowed push services, no user info tricks, real keys.
    for endpoint in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:1@10.0.0.1/x",
        "https://fcm.googleapis.com/fcm/send/x",
    ] {
        let mut b = device.clone();
        b["kind"] = json!("webpush");
        b["endpoint"] = json!(endpoint);
        let r = app.post("/v1/me/push-subscriptions", &bob, Some(b)).await;
        r.problem(400, "push_endpoint_not_allowed");
    }
    let mut b = device.clone();
    b["kind"] = json!("webpush");
    b["keys"]["p256dh"] = json!("AAAA");
    let r = app.post("/v1/me/push-subscriptions", &bob, Some(b)).await;
    r.problem(400, "invalid_push_keys");
    let r = app
        .post(
            "/v1/me/push-subscriptions",
            &bob,
            Some(json!({"kind": "fcm", "token": "abc"})),
        )
        .await;
    r.problem(400, "push_kind_not_configured");
    // A body that breaks only a length limit gets its 400, not a 413 from
    // the body limit, even when every character takes four bytes (the API
    // fuzzer found this one).
    let mut b = device.clone();
    b["kind"] = json!("webpush");
    b["endpoint"] = json!("😀".repeat(4097));
    let r = app.post("/v1/me/push-subscriptions", &bob, Some(b)).await;
    r.problem(400, "push_endpoint_not_allowed");

    // The same device twice is one subscription; another user's sign-in on
    // it takes it over.
    let id = subscribe(&app, &bob, &device).await;
    assert_eq!(subscribe(&app, &bob, &device).await, id);
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["endpoint"], device["endpoint"]);
    let r = app
        .delete(&format!("/v1/me/push-subscriptions/{id}"), &eve)
        .await;
    r.problem(404, "push_subscription_not_found");
    let r = app
        .delete(&format!("/v1/me/push-subscriptions/{id}"), &bob)
        .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn a_chat_request_is_pushed_to_its_recipient_alone() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let (bobs, alices) = (rx.device("ok").await, rx.device("ok").await);
    subscribe(&app, &bob, &bobs).await;
    subscribe(&app, &alice, &alices).await;
    let r = app.direct(&alice, &bob).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let got = rx.until(&bobs, |g| !g.is_empty()).await;
    let p = &got[0]["payload"];
    assert_eq!((&p["type"], &p["count"]), (&json!("request"), &json!(1)));
    assert_eq!(p["sender_id"], alice.id.to_string());
    assert_eq!(got[0]["urgency"], "high");
    quiet(&rx, &alices, 0).await;
}

/// One chat's notifications arrive in order: a device whose push service
/// failed the first burst (503) gets no late copy of it after a newer one;
/// the newer notification covers both bursts' messages, and the waiting
/// retry is dropped.
#[tokio::test]
async fn a_newer_burst_replaces_a_waiting_retry_and_covers_its_messages() {
    let rx = Receiver::start();
    let app = app().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let phone = rx.device("flaky:1").await;
    subscribe(&app, &bob, &phone).await;
    say(&app, chat, &alice, text("first")).await;
    // The first burst was refused once (503): a retry waits 1 s.
    for _ in 0..100 {
        if rx.state(&phone).await["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    say(&app, chat, &alice, text("second")).await;
    let got = rx.until(&phone, |g| covered(g) >= 2).await;
    quiet(&rx, &phone, got.len()).await;
    let got = rx.state(&phone).await["received"]
        .as_array()
        .unwrap()
        .clone();
    let seqs: Vec<u64> = got
        .iter()
        .map(|n| n["payload"]["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert_eq!(covered(&got), 2, "each message covered once: {got:?}");
    assert_eq!(got.last().unwrap()["payload"]["preview"], "second");
}

#[tokio::test]
async fn nobody_is_told_of_a_message_the_visibility_rule_hides_from_them() {
    let rx = Receiver::start();
    // Long enough for the whole story to be one burst.
    let app = app_with_delay(Duration::from_secs(3)).await;
    let [alice, bob, carol, dave]: [User; 4] = app.users(4).await.try_into().ok().unwrap();
    let group = app.group(&alice, &[&bob, &dave], "g").await;
    let (bobs, carols) = (rx.device("ok").await, rx.device("ok").await);
    subscribe(&app, &bob, &bobs).await;
    subscribe(&app, &carol, &carols).await;

    let one = app.send(group, &alice, "c1", "one").await.id("message_id");
    let gone = app.send(group, &alice, "c2", "gone").await.id("message_id");
    let on = |m| format!("/v1/chats/{group}/messages/{m}");
    let r = app
        .delete(&format!("{}?for=everyone", on(gone)), &alice)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let r = app.delete(&format!("{}?for=me", on(one)), &bob).await;
    assert!(r.status.is_success(), "{}", r.raw);
    let r = app
        .post(
            &format!("/v1/chats/{group}/members"),
            &alice,
            Some(json!({"user_ids": [carol.id]})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    say(&app, group, &alice, text("three")).await;

    // Bob: not the one he hid, not the deleted one. Carol: nothing from
    // before she joined.
    for device in [&bobs, &carols] {
        let got = rx.until(device, |g| covered(g) >= 1).await;
        quiet(&rx, device, got.len()).await;
        assert_eq!(covered(&got), 1, "{got:?}");
        assert_eq!(got[0]["payload"]["preview"], "three");
    }
}
