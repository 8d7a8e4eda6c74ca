//! Messages end to end: send (replies, forwards, resends), edit, delete for
//! me and for everyone, reactions, pins and read markers.

use crate::support::{Resp, TestApp, User, assert_answer, types};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The newest event of a stream.
async fn last(app: &TestApp, stream: &str) -> (String, Value) {
    app.events(stream).await.pop().expect("an event")
}

async fn send_body(app: &TestApp, chat: Uuid, who: &User, body: Value) -> Resp {
    app.post(&format!("/v1/chats/{chat}/messages"), who, Some(body))
        .await
}

/// Send a text message and answer its id.
async fn sent(app: &TestApp, chat: Uuid, who: &User, client_msg_id: &str) -> Uuid {
    let r = app
        .send(
            chat,
            who,
            client_msg_id,
            &format!("text of {client_msg_id}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    r.id("message_id")
}

async fn edit(app: &TestApp, chat: Uuid, message: Uuid, who: &User, text: &str) -> Resp {
    let path = format!("/v1/chats/{chat}/messages/{message}");
    app.call(
        Method::PATCH,
        &path,
        Some(&who.token),
        Some(json!({ "text": text })),
    )
    .await
}

async fn react(
    app: &TestApp,
    method: Method,
    chat: Uuid,
    message: Uuid,
    who: &User,
    emoji: &str,
) -> Resp {
    let path = format!("/v1/chats/{chat}/messages/{message}/reactions/{emoji}");
    app.call(method, &path, Some(&who.token), None).await
}

#[tokio::test]
async fn sending_a_message_appends_message_sent_with_the_next_seq() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "talk").await;
    let stream = format!("chat-{chat}");
    let r = app.send(chat, &users[1], "c-1", "hello").await;
    assert_answer(&r, 201, &stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.body["seq"], 1);
    assert_eq!(r.body["version"], 2);
    let message = r.id("message_id");
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageSent");
    assert_eq!(p["message_id"], message.to_string());
    assert_eq!(p["client_msg_id"], "c-1");
    assert_eq!(p["sender_id"], users[1].id.to_string());
    assert_eq!(p["kind"], "text");
    assert_eq!(p["text"], "hello");
    assert_eq!(p["seq"], 1);

    let r = app
        .send(chat, &users[2], "c-1", "same client id, other sender")
        .await;
    assert_answer(&r, 201, &stream);
    assert_eq!(r.body["seq"], 2);
    assert_ne!(r.id("message_id"), message);
}

#[tokio::test]
async fn a_resend_with_the_same_client_msg_id_returns_the_same_message_and_appends_nothing() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let first = app.send(chat, &users[0], "retry-me", "once").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let other = app.send(chat, &users[1], "in-between", "meanwhile").await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.raw);

    let before = app.event_count().await;
    let again = app.send(chat, &users[0], "retry-me", "once").await;
    assert_answer(&again, 200, &format!("chat-{chat}"));
    assert_eq!(again.id("message_id"), first.id("message_id"));
    assert_eq!(again.body["seq"], first.body["seq"]);
    assert_eq!(app.event_count().await, before);
}

/// The store, not a probe before deciding, catches a resend; a resend that
/// the chat would refuse now (blocked since) still gets its original answer.
#[tokio::test]
async fn a_resend_after_the_chat_was_blocked_still_returns_the_original() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let first = app.send(chat, &users[0], "before-block", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let r = app
        .post(&format!("/v1/chats/{chat}/block"), &users[1], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    let again = app.send(chat, &users[0], "before-block", "hello").await;
    assert_answer(&again, 200, &format!("chat-{chat}"));
    assert_eq!(again.id("message_id"), first.id("message_id"));
    assert_eq!(again.body["seq"], first.body["seq"]);
    let fresh = app.send(chat, &users[0], "after-block", "hello?").await;
    assert!(fresh.status.is_client_error(), "{}", fresh.raw);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn invalid_messages_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "strict")
        .await;
    let me = &users[0];
    let before = app.event_count().await;
    app.send(chat, me, "long", &"a".repeat(4097))
        .await
        .problem(400, "text_too_long");
    app.send(chat, me, "blank", "   ")
        .await
        .problem(400, "text_required");
    app.send(chat, me, "", "no id")
        .await
        .problem(400, "invalid_client_msg_id");
    app.send(chat, me, &"x".repeat(65), "long id")
        .await
        .problem(400, "invalid_client_msg_id");
    let cases = [
        (
            json!({ "client_msg_id": "a", "kind": "text" }),
            400,
            "text_required",
        ),
        (
            json!({ "client_msg_id": "b", "kind": "image" }),
            400,
            "media_required",
        ),
        (
            json!({ "client_msg_id": "c", "kind": "image", "media_id": Uuid::new_v4() }),
            404,
            "media_not_found",
        ),
        (
            json!({ "client_msg_id": "d", "kind": "sticker", "text": "hi" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "client_msg_id": "e", "text": "no kind" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "client_msg_id": 5, "kind": "text", "text": "hi" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "client_msg_id": "f", "kind": "text", "text": "hi", "priority": "high" }),
            400,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        send_body(&app, chat, me, body).await.problem(status, code);
    }
    // Exactly at the limit is fine.
    assert_eq!(
        app.send(chat, me, "max", &"a".repeat(4096)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(app.event_count().await, before + 1);
}

#[tokio::test]
async fn sending_needs_a_chat_you_are_in() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "closed circle")
        .await;
    let before = app.event_count().await;
    app.send(chat, &users[3], "x", "let me in")
        .await
        .problem(404, "chat_not_found");
    app.send(Uuid::new_v4(), &users[0], "x", "anyone?")
        .await
        .problem(404, "chat_not_found");
    let body = json!({ "client_msg_id": "x", "kind": "text", "text": "hi" });
    app.post("/v1/chats/chat-1/messages", &users[0], Some(body.clone()))
        .await
        .problem(400, "invalid_id");
    let path = format!("/v1/chats/{chat}/messages");
    app.call(Method::POST, &path, None, Some(body.clone()))
        .await
        .problem(401, "missing_token");
    app.call(Method::POST, &path, Some("garbage"), Some(body))
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_reply_references_its_target_and_a_reply_to_an_unknown_message_is_not_found() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "threads")
        .await;
    let other = app
        .group(&users[0], &[&users[1], &users[2]], "elsewhere")
        .await;
    let target = sent(&app, chat, &users[1], "q").await;
    let elsewhere = sent(&app, other, &users[1], "q").await;
    let stream = format!("chat-{chat}");

    let body =
        json!({ "client_msg_id": "a", "kind": "text", "text": "answer", "reply_to": target });
    let r = send_body(&app, chat, &users[0], body).await;
    assert_answer(&r, 201, &stream);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageSent");
    assert_eq!(p["reply_to"]["message_id"], target.to_string());
    assert_eq!(p["reply_to"]["seq"], 1);
    assert_eq!(p["reply_to"]["sender_id"], users[1].id.to_string());

    let before = app.event_count().await;
    for missing in [Uuid::new_v4(), elsewhere] {
        let body =
            json!({ "client_msg_id": "b", "kind": "text", "text": "huh", "reply_to": missing });
        let r = send_body(&app, chat, &users[0], body).await;
        r.problem(404, "message_not_found");
        assert_eq!(r.body["field"], "reply_to", "{}", r.raw);
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_forward_copies_its_source_from_a_chat_the_sender_is_in() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let source = app
        .group(&users[0], &[&users[1], &users[2]], "source")
        .await;
    let dest = app.accepted_direct(&users[1], &users[2]).await;
    let original = app
        .send(source, &users[0], "orig", "worth sharing")
        .await
        .id("message_id");
    let stream = format!("chat-{dest}");

    let body = json!({ "client_msg_id": "fw", "kind": "text", "forward_of": { "chat_id": source, "message_id": original } });
    let r = send_body(&app, dest, &users[1], body).await;
    assert_answer(&r, 201, &stream);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageSent");
    assert_eq!(p["text"], "worth sharing");
    assert_eq!(p["forward_of"]["chat_id"], source.to_string());
    assert_eq!(p["forward_of"]["message_id"], original.to_string());
    assert_eq!(
        p["forward_of"]["original_sender_id"],
        users[0].id.to_string()
    );

    let before = app.event_count().await;
    let with_text = json!({
        "client_msg_id": "fw2", "kind": "text", "text": "my comment",
        "forward_of": { "chat_id": source, "message_id": original },
    });
    send_body(&app, dest, &users[1], with_text)
        .await
        .problem(400, "forward_with_content");
    let unknown = json!({ "client_msg_id": "fw3", "kind": "text", "forward_of": { "chat_id": source, "message_id": Uuid::new_v4() } });
    send_body(&app, dest, &users[1], unknown)
        .await
        .problem(404, "message_not_found");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn forwarding_from_a_chat_the_sender_is_not_in_is_not_found() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let secret = app
        .group(&users[0], &[&users[1], &users[2]], "secret")
        .await;
    let dest = app.accepted_direct(&users[3], &users[0]).await;
    let original = sent(&app, secret, &users[0], "s").await;
    let before = app.event_count().await;
    let body = json!({ "client_msg_id": "leak", "kind": "text", "forward_of": { "chat_id": secret, "message_id": original } });
    let r = send_body(&app, dest, &users[3], body).await;
    r.problem(404, "message_not_found");
    assert_eq!(r.body["field"], "forward_of", "{}", r.raw);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn the_author_edits_a_message() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[0], "e").await;
    let r = edit(&app, chat, message, &users[0], "fixed typo").await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.id("message_id"), message);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageEdited");
    assert_eq!(p["text"], "fixed typo");
    assert_eq!(p["editor_id"], users[0].id.to_string());

    let before = app.event_count().await;
    let again = edit(&app, chat, message, &users[0], "fixed typo").await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "the same text again appends nothing"
    );
}

#[tokio::test]
async fn editing_is_for_the_author_of_an_existing_message() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let message = sent(&app, chat, &users[0], "mine").await;
    let before = app.event_count().await;
    edit(&app, chat, message, &users[1], "not yours")
        .await
        .problem(403, "not_the_author");
    edit(&app, chat, message, &users[2], "outsider")
        .await
        .problem(404, "chat_not_found");
    edit(&app, chat, Uuid::new_v4(), &users[0], "ghost")
        .await
        .problem(404, "message_not_found");
    // Membership is checked before any message lookup.
    edit(&app, Uuid::new_v4(), message, &users[0], "wrong chat")
        .await
        .problem(404, "chat_not_found");
    edit(&app, chat, message, &users[0], &"a".repeat(4097))
        .await
        .problem(400, "text_too_long");
    edit(&app, chat, message, &users[0], " ")
        .await
        .problem(400, "text_required");
    let path = format!("/v1/chats/{chat}/messages/{message}");
    let bad = app
        .call(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(json!({ "text": "x", "kind": "text" })),
        )
        .await;
    bad.problem(400, "invalid_body");
    let bad_id = format!("/v1/chats/{chat}/messages/nope");
    app.call(
        Method::PATCH,
        &bad_id,
        Some(&users[0].token),
        Some(json!({ "text": "x" })),
    )
    .await
    .problem(400, "invalid_id");
    app.call(Method::PATCH, &path, None, Some(json!({ "text": "x" })))
        .await
        .problem(401, "missing_token");
    app.call(
        Method::PATCH,
        &path,
        Some("garbage"),
        Some(json!({ "text": "x" })),
    )
    .await
    .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn deleting_for_everyone_leaves_a_message_deleted() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[0], "oops").await;
    let path = format!("/v1/chats/{chat}/messages/{message}?for=everyone");
    let r = app.delete(&path, &users[0]).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("message_id"), message);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageDeleted");
    assert_eq!(p["message_id"], message.to_string());
    assert_eq!(p["by"], users[0].id.to_string());

    let before = app.event_count().await;
    let again = app.delete(&path, &users[0]).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "deleting twice appends nothing"
    );
    edit(&app, chat, message, &users[0], "too late")
        .await
        .problem(409, "message_deleted");
    react(&app, Method::PUT, chat, message, &users[1], "👍")
        .await
        .problem(409, "message_deleted");
    let reply = json!({ "client_msg_id": "r", "kind": "text", "text": "re", "reply_to": message });
    send_body(&app, chat, &users[1], reply)
        .await
        .problem(409, "message_deleted");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn deleting_for_everyone_is_for_the_author_or_a_group_admin() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let (admin, author, member, outsider) = (&users[0], &users[1], &users[2], &users[3]);
    let chat = app.group(admin, &[author, member], "moderated").await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, author, "spam").await;
    let path = format!("/v1/chats/{chat}/messages/{message}?for=everyone");
    let before = app.event_count().await;
    app.delete(&path, member)
        .await
        .problem(403, "not_the_author");
    app.delete(&path, outsider)
        .await
        .problem(404, "chat_not_found");
    let unknown = format!("/v1/chats/{chat}/messages/{}?for=everyone", Uuid::new_v4());
    app.delete(&unknown, admin)
        .await
        .problem(404, "message_not_found");
    app.delete(&format!("/v1/chats/{chat}/messages/{message}"), admin)
        .await
        .problem(400, "invalid_query");
    app.delete(
        &format!("/v1/chats/{chat}/messages/{message}?for=all"),
        admin,
    )
    .await
    .problem(400, "invalid_query");
    app.delete(&format!("/v1/chats/{chat}/messages/x?for=everyone"), admin)
        .await
        .problem(400, "invalid_id");
    app.call(Method::DELETE, &path, None, None)
        .await
        .problem(401, "missing_token");
    app.call(Method::DELETE, &path, Some("garbage"), None)
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);

    let r = app.delete(&path, admin).await;
    assert_answer(&r, 200, &stream);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessageDeleted");
    assert_eq!(p["by"], admin.id.to_string());
    assert_eq!(p["sender_id"], author.id.to_string());
}

#[tokio::test]
async fn in_a_direct_chat_only_the_author_deletes_for_everyone() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let message = sent(&app, chat, &users[0], "keep").await;
    let before = app.event_count().await;
    let path = format!("/v1/chats/{chat}/messages/{message}?for=everyone");
    app.delete(&path, &users[1])
        .await
        .problem(403, "not_the_author");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn deleting_a_pinned_message_for_everyone_also_unpins_it() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[0], "pinned").await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/messages/{message}/pin"),
            &users[1],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.events(&stream).await.len();
    let r = app
        .delete(
            &format!("/v1/chats/{chat}/messages/{message}?for=everyone"),
            &users[0],
        )
        .await;
    assert_answer(&r, 200, &stream);
    let all = types(&app, &stream).await;
    assert_eq!(all[before..], ["MessageDeleted", "MessageUnpinned"]);
}

#[tokio::test]
async fn deleting_for_me_appends_message_hidden_for_me_to_my_stream_only() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let chat_stream = format!("chat-{chat}");
    let my_stream = format!("user-{}", users[1].id);
    let message = sent(&app, chat, &users[0], "theirs").await;
    let chat_events = app.events(&chat_stream).await.len();
    let path = format!("/v1/chats/{chat}/messages/{message}?for=me");

    let r = app.delete(&path, &users[1]).await;
    assert_answer(&r, 200, &my_stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.id("message_id"), message);
    let (t, p) = last(&app, &my_stream).await;
    assert_eq!(t, "MessageHiddenForMe");
    assert_eq!(p["message_id"], message.to_string());
    assert_eq!(p["chat_id"], chat.to_string());
    assert_eq!(p["seq"], 1);
    assert_eq!(
        app.events(&chat_stream).await.len(),
        chat_events,
        "the chat is untouched"
    );
    assert!(
        !types(&app, &format!("user-{}", users[0].id))
            .await
            .contains(&"MessageHiddenForMe".to_owned())
    );

    let before = app.event_count().await;
    let again = app.delete(&path, &users[1]).await;
    assert_answer(&again, 200, &my_stream);
    assert_eq!(
        app.event_count().await,
        before,
        "hiding twice appends nothing"
    );
}

#[tokio::test]
async fn deleting_for_me_needs_a_message_i_can_see() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let message = sent(&app, chat, &users[0], "private").await;
    let before = app.event_count().await;
    app.delete(
        &format!("/v1/chats/{chat}/messages/{message}?for=me"),
        &users[2],
    )
    .await
    .problem(404, "message_not_found");
    let unknown = format!("/v1/chats/{chat}/messages/{}?for=me", Uuid::new_v4());
    app.delete(&unknown, &users[0])
        .await
        .problem(404, "message_not_found");
    let path = format!("/v1/chats/{chat}/messages/{message}?for=me");
    app.call(Method::DELETE, &path, None, None)
        .await
        .problem(401, "missing_token");
    app.call(Method::DELETE, &path, Some("garbage"), None)
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn reacting_adds_one_reaction_per_emoji_and_removing_takes_it_away() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "reactions")
        .await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[0], "react to me").await;

    let r = react(&app, Method::PUT, chat, message, &users[1], "👍").await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("message_id"), message);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "ReactionAdded");
    assert_eq!(p["emoji"], "👍");
    assert_eq!(p["user_id"], users[1].id.to_string());

    let before = app.event_count().await;
    let again = react(&app, Method::PUT, chat, message, &users[1], "👍").await;
    assert_answer(&again, 200, &stream);
    assert_eq!(again.body["version"], r.body["version"]);
    assert_eq!(
        app.event_count().await,
        before,
        "reacting twice with the same emoji appends nothing"
    );

    let other = react(&app, Method::PUT, chat, message, &users[2], "👍").await;
    assert_answer(&other, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before + 1,
        "another user's reaction counts"
    );

    let r = react(&app, Method::DELETE, chat, message, &users[1], "👍").await;
    assert_answer(&r, 200, &stream);
    assert_eq!(last(&app, &stream).await.0, "ReactionRemoved");
    let before = app.event_count().await;
    let again = react(&app, Method::DELETE, chat, message, &users[1], "👍").await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "removing an absent reaction appends nothing"
    );
}

#[tokio::test]
async fn reactions_need_an_emoji_a_visible_message_and_a_participant() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let message = sent(&app, chat, &users[0], "m").await;
    let before = app.event_count().await;
    for method in [Method::PUT, Method::DELETE] {
        react(&app, method.clone(), chat, message, &users[1], "ok")
            .await
            .problem(400, "invalid_emoji");
        react(&app, method.clone(), chat, message, &users[1], "%20")
            .await
            .problem(400, "invalid_emoji");
        react(&app, method.clone(), chat, message, &users[2], "👍")
            .await
            .problem(404, "chat_not_found");
        react(&app, method.clone(), chat, Uuid::new_v4(), &users[1], "👍")
            .await
            .problem(404, "message_not_found");
        let bad = format!("/v1/chats/{chat}/messages/1/reactions/👍");
        app.call(method.clone(), &bad, Some(&users[1].token), None)
            .await
            .problem(400, "invalid_id");
        let path = format!("/v1/chats/{chat}/messages/{message}/reactions/👍");
        app.call(method.clone(), &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(method, &path, Some("garbage"), None)
            .await
            .problem(401, "invalid_token");
    }
    let r = app
        .post(&format!("/v1/chats/{chat}/block"), &users[0], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before_block = app.event_count().await;
    react(&app, Method::PUT, chat, message, &users[1], "👍")
        .await
        .problem(403, "blocked");
    react(&app, Method::PUT, chat, message, &users[0], "👍")
        .await
        .problem(403, "you_blocked_chat");
    assert_eq!(app.event_count().await, before_block);
    assert_eq!(before_block, before + 1, "only the block was appended");
}

#[tokio::test]
async fn either_side_of_a_direct_chat_pins_and_unpins() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[0], "remember").await;
    let path = format!("/v1/chats/{chat}/messages/{message}/pin");

    let r = app.post(&path, &users[1], None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("message_id"), message);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "MessagePinned");
    assert_eq!(p["by"], users[1].id.to_string());
    let before = app.event_count().await;
    assert_answer(&app.post(&path, &users[0], None).await, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "pinning a pinned message appends nothing"
    );

    let r = app.delete(&path, &users[0]).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(last(&app, &stream).await.0, "MessageUnpinned");
    let before = app.event_count().await;
    assert_answer(&app.delete(&path, &users[0]).await, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "unpinning an unpinned message appends nothing"
    );
}

#[tokio::test]
async fn in_a_group_only_admins_pin() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "board").await;
    let stream = format!("chat-{chat}");
    let message = sent(&app, chat, &users[1], "notice").await;
    let path = format!("/v1/chats/{chat}/messages/{message}/pin");
    let before = app.event_count().await;
    for method in [Method::POST, Method::DELETE] {
        let call = |who: &User, path: String| {
            let (app, token, method) = (&app, who.token.clone(), method.clone());
            async move { app.call(method, &path, Some(&token), None).await }
        };
        call(&users[1], path.clone())
            .await
            .problem(403, "not_an_admin");
        call(&users[3], path.clone())
            .await
            .problem(404, "chat_not_found");
        call(
            &users[0],
            format!("/v1/chats/{chat}/messages/{}/pin", Uuid::new_v4()),
        )
        .await
        .problem(404, "message_not_found");
        call(&users[0], format!("/v1/chats/{chat}/messages/zzz/pin"))
            .await
            .problem(400, "invalid_id");
        app.call(method.clone(), &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(method, &path, Some("garbage"), None)
            .await
            .problem(401, "invalid_token");
    }
    assert_eq!(app.event_count().await, before);
    let r = app.post(&path, &users[0], None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(last(&app, &stream).await.0, "MessagePinned");
}

#[tokio::test]
async fn a_pending_request_cannot_be_pinned_in() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.direct(&users[0], &users[1]).await.id("chat_id");
    let message = sent(&app, chat, &users[0], "knock").await;
    let before = app.event_count().await;
    let path = format!("/v1/chats/{chat}/messages/{message}/pin");
    app.post(&path, &users[0], None)
        .await
        .problem(409, "chat_not_accepted");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn the_read_marker_moves_forward_and_never_backwards() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    let stream = format!("chat-{chat}");
    for i in 0..3 {
        sent(&app, chat, &users[0], &format!("m{i}")).await;
    }
    let path = format!("/v1/chats/{chat}/read");
    let r = app
        .post(&path, &users[1], Some(json!({ "up_to_seq": 2 })))
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    let (t, p) = last(&app, &stream).await;
    assert_eq!(t, "ReadMarkerMoved");
    assert_eq!(p["up_to_seq"], 2);
    assert_eq!(p["user_id"], users[1].id.to_string());

    let before = app.event_count().await;
    for back in [2, 1, 0] {
        let r = app
            .post(&path, &users[1], Some(json!({ "up_to_seq": back })))
            .await;
        assert_answer(&r, 200, &stream);
    }
    assert_eq!(
        app.event_count().await,
        before,
        "not moving forward appends nothing"
    );

    let r = app
        .post(&path, &users[1], Some(json!({ "up_to_seq": 3 })))
        .await;
    assert_answer(&r, 200, &stream);
    let markers: Vec<u64> = app
        .events(&stream)
        .await
        .into_iter()
        .filter(|(t, p)| t == "ReadMarkerMoved" && p["user_id"] == users[1].id.to_string())
        .map(|(_, p)| p["up_to_seq"].as_u64().unwrap())
        .collect();
    assert_eq!(markers, [2, 3]);
}

#[tokio::test]
async fn reading_past_the_last_message_or_outside_the_chat_is_refused() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.accepted_direct(&users[0], &users[1]).await;
    sent(&app, chat, &users[0], "only").await;
    let path = format!("/v1/chats/{chat}/read");
    let before = app.event_count().await;
    let r = app
        .post(&path, &users[1], Some(json!({ "up_to_seq": 2 })))
        .await;
    r.problem(400, "seq_out_of_range");
    assert_eq!(r.body["field"], "up_to_seq", "{}", r.raw);
    app.post(&path, &users[2], Some(json!({ "up_to_seq": 1 })))
        .await
        .problem(404, "chat_not_found");
    app.post(
        &format!("/v1/chats/{}/read", Uuid::new_v4()),
        &users[1],
        Some(json!({ "up_to_seq": 1 })),
    )
    .await
    .problem(404, "chat_not_found");
    app.post(&path, &users[1], Some(json!({ "up_to_seq": -1 })))
        .await
        .problem(400, "invalid_body");
    app.post(&path, &users[1], Some(json!({ "up_to_seq": "1" })))
        .await
        .problem(400, "invalid_body");
    app.post(&path, &users[1], Some(json!({})))
        .await
        .problem(400, "invalid_body");
    app.post(
        "/v1/chats/1/read",
        &users[1],
        Some(json!({ "up_to_seq": 1 })),
    )
    .await
    .problem(400, "invalid_id");
    app.call(Method::POST, &path, None, Some(json!({ "up_to_seq": 1 })))
        .await
        .problem(401, "missing_token");
    app.call(
        Method::POST,
        &path,
        Some("garbage"),
        Some(json!({ "up_to_seq": 1 })),
    )
    .await
    .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}
