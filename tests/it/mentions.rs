//! Mentions end to end: `@username`s and explicit ids become the event's
//! `mentions`, the chat list counts unread mentions (muted chats too) until
//! the read marker passes them, and history shows who was mentioned.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::gateway_client::{Ws, pos};
use crate::support::{Resp, TestApp, User};

async fn say(app: &TestApp, chat: Uuid, who: &User, body: Value) -> Resp {
    let mut body = body;
    body["client_msg_id"] = json!(Uuid::new_v4().to_string());
    body["kind"] = json!("text");
    app.post(&format!("/v1/chats/{chat}/messages"), who, Some(body))
        .await
}

/// `(unread_count, mention_count)` of `chat` in `who`'s list.
async fn counts(app: &TestApp, who: &User, chat: Uuid, at: u64) -> (i64, i64) {
    let r = app
        .call(
            Method::GET,
            &format!("/v1/chats?min_position={at}"),
            Some(&who.token),
            None,
        )
        .await;
    let row = r.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["chat_id"] == chat.to_string()))
        .unwrap_or_else(|| panic!("{chat} in {}", r.raw))
        .clone();
    (
        row["unread_count"].as_i64().expect("unread_count"),
        row["mention_count"].as_i64().expect("mention_count"),
    )
}

#[tokio::test]
async fn a_mention_in_a_muted_chat_is_counted_until_read() {
    let app = TestApp::spawn().await;
    let alice = app
        .register(&format!(
            "alice_{}",
            &Uuid::new_v4().simple().to_string()[..6]
        ))
        .await;
    let bob_name = format!("bob_{}", &Uuid::new_v4().simple().to_string()[..6]);
    let bob = app.register(&bob_name).await;
    let carol = app.users(1).await.remove(0);
    let chat = app.group(&alice, &[&bob, &carol], "mentions").await;
    let r = app
        .post(&format!("/v1/chats/{chat}/mute"), &bob, None)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);

    say(&app, chat, &alice, json!({"text": "plain"})).await;
    // By name, in another case, at a sentence's end.
    let named = say(
        &app,
        chat,
        &alice,
        json!({"text": format!("ask @{}.", bob_name.to_uppercase())}),
    )
    .await;
    assert_eq!(named.status, 201, "{}", named.raw);
    let explicit = say(
        &app,
        chat,
        &carol,
        json!({"text": "see this", "mentions": [bob.id]}),
    )
    .await;
    let at = pos(&explicit.body);
    assert_eq!(counts(&app, &bob, chat, at).await, (3, 2));
    // Carol sent the last one, so she has read up to it.
    assert_eq!(counts(&app, &carol, chat, at).await, (0, 0));

    // History says who each message mentions.
    let h = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/messages?min_position={at}"),
            Some(&bob.token),
            None,
        )
        .await;
    let mentions: Vec<Value> = h.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] != "system")
        .map(|m| m["mentions"].clone())
        .collect();
    assert_eq!(mentions, [json!([]), json!([bob.id]), json!([bob.id])]);

    // Reading past the first mention leaves the second.
    let r = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            &bob,
            Some(json!({"up_to_seq": 2})),
        )
        .await;
    assert_eq!(counts(&app, &bob, chat, pos(&r.body)).await, (1, 1));
    let r = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            &bob,
            Some(json!({"up_to_seq": 3})),
        )
        .await;
    assert_eq!(counts(&app, &bob, chat, pos(&r.body)).await, (0, 0));
}

#[tokio::test]
async fn mentions_reach_the_socket_and_never_name_outsiders_or_the_sender() {
    let app = TestApp::spawn().await;
    let names: Vec<String> = (0..3)
        .map(|i| format!("m{i}_{}", &Uuid::new_v4().simple().to_string()[..6]))
        .collect();
    let mut u = Vec::new();
    for n in &names {
        u.push(app.register(n).await);
    }
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let mut ws = Ws::connect(&app.base, &u[1]).await;
    ws.subscribe(None).await;
    // u[2] is not in the chat: their name is just text; u[0] is the sender.
    let text = format!("@{} @{} @{} hi", names[1], names[2], names[0]);
    let r = say(&app, chat, &u[0], json!({"text": text})).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let f = ws.event().await;
    assert_eq!(f["event"]["type"], "MessageSent");
    assert_eq!(f["event"]["mentions"], json!([u[1].id]));

    // An explicit outsider is refused, and nothing is appended.
    let before = app.event_count().await;
    say(
        &app,
        chat,
        &u[0],
        json!({"text": "psst", "mentions": [u[2].id]}),
    )
    .await
    .problem(400, "mention_not_member");
    let many: Vec<Uuid> = (0..51).map(|_| Uuid::new_v4()).collect();
    say(&app, chat, &u[0], json!({"text": "all", "mentions": many}))
        .await
        .problem(400, "too_many_mentions");
    assert_eq!(app.event_count().await, before);
}
