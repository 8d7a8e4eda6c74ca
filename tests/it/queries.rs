//! The read side end to end: commands through the app, answers through the
//! query API, synchronised with `min_position` (read-your-writes).

use std::collections::BTreeSet;

use crate::support::{Resp, TestApp, User};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// GET as `who`, reflecting at least `at`.
async fn get(app: &TestApp, who: &User, path: &str, at: u64) -> Resp {
    let sep = if path.contains('?') { '&' } else { '?' };
    app.call(
        Method::GET,
        &format!("{path}{sep}min_position={at}"),
        Some(&who.token),
        None,
    )
    .await
}

fn pos(r: &Resp) -> u64 {
    r.body["position"]
        .as_u64()
        .unwrap_or_else(|| panic!("position in {}", r.raw))
}

fn chat_row(list: &Value, chat: Uuid) -> Option<&Value> {
    list["items"]
        .as_array()?
        .iter()
        .find(|c| c["chat_id"] == chat.to_string())
}

#[tokio::test]
async fn reading_your_own_write_waits_for_the_projection() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let sent = app.send(chat, &u[0], "c1", "hello there").await;
    let r = get(
        &app,
        &u[1],
        &format!("/v1/chats/{chat}/messages"),
        pos(&sent),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["items"][0]["text"], "hello there");
    // A position past the log's head can never be reached: a 400 at once,
    // not a request that holds a connection polling until its timeout.
    get(&app, &u[0], "/v1/me", pos(&sent) + 1_000_000)
        .await
        .problem(400, "invalid_min_position");
    // A search cursor this server never gave out is refused, not run.
    let forged = base64_url(b"-5");
    let r = app
        .call(
            Method::GET,
            &format!("/v1/search/messages?q=hello&cursor={forged}"),
            Some(&u[0].token),
            None,
        )
        .await;
    r.problem(400, "invalid_cursor");
}

/// URL-safe base64 without padding, as the server's cursors are.
fn base64_url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn unread_counts_follow_every_rule() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "team").await;
    app.send(chat, &u[1], "b0", "my own").await;
    let mut owners = Vec::new();
    for i in 0..3 {
        owners.push(app.send(chat, &u[0], &format!("a{i}"), "from owner").await);
    }
    let at = pos(&owners[2]);
    let unread = |list: &Value| {
        chat_row(list, chat).unwrap()["unread_count"]
            .as_i64()
            .unwrap()
    };

    // Own messages don't count; the three from the owner do.
    let l = get(&app, &u[1], "/v1/chats", at).await;
    assert_eq!(unread(&l.body), 3, "{}", l.raw);
    // Sending reads everything before it: the owner has nothing unread.
    assert_eq!(unread(&get(&app, &u[0], "/v1/chats", at).await.body), 0);

    // The read marker moves.
    let read = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            &u[1],
            Some(json!({ "up_to_seq": 3 })),
        )
        .await;
    assert_eq!(
        unread(&get(&app, &u[1], "/v1/chats", pos(&read)).await.body),
        1
    );

    // Delete-for-everyone of an unread message uncounts it; an edit doesn't re-count.
    let m4 = app.send(chat, &u[0], "a3", "to delete").await;
    let m5 = app.send(chat, &u[0], "a4", "to edit").await;
    let del = app
        .delete(
            &format!(
                "/v1/chats/{chat}/messages/{}?for=everyone",
                m4.id("message_id")
            ),
            &u[0],
        )
        .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.raw);
    let edit = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}/messages/{}", m5.id("message_id")),
            Some(&u[0].token),
            Some(json!({ "text": "edited" })),
        )
        .await;
    assert_eq!(
        unread(&get(&app, &u[1], "/v1/chats", pos(&edit)).await.body),
        2
    );

    // Muted chats still count, flagged as muted.
    let mute = app
        .post(&format!("/v1/chats/{chat}/mute"), &u[1], None)
        .await;
    let l = get(&app, &u[1], "/v1/chats", pos(&mute)).await;
    let row = chat_row(&l.body, chat).unwrap();
    assert_eq!(
        (row["unread_count"].as_i64(), row["muted"].as_bool()),
        (Some(2), Some(true))
    );
    let me = get(&app, &u[1], "/v1/me", pos(&mute)).await;
    assert_eq!(me.body["total_unread"], 2, "{}", me.raw);

    // Leaving freezes the row: later messages neither show nor count.
    let left = app
        .post(&format!("/v1/chats/{chat}/leave"), &u[2], None)
        .await;
    let before = get(&app, &u[2], "/v1/chats", pos(&left)).await;
    let frozen = chat_row(&before.body, chat).unwrap().clone();
    let later = app.send(chat, &u[0], "a5", "after you left").await;
    let after = get(&app, &u[2], "/v1/chats", pos(&later)).await;
    let row = chat_row(&after.body, chat).unwrap();
    assert_eq!(row["unread_count"], frozen["unread_count"]);
    assert_eq!(row["last_message"], frozen["last_message"]);
    assert_eq!(row["left"], true);
    assert_eq!(row["members_count"], Value::Null, "no longer followed");
    // The details are those of when they left, not live.
    let detail = get(&app, &u[2], &format!("/v1/chats/{chat}"), pos(&later)).await;
    assert_eq!(detail.status, 200, "{}", detail.raw);
    assert_eq!(detail.body["members"], json!([]));
    assert_eq!(detail.body["members_count"], Value::Null);
    assert_eq!(detail.body["message_count"], Value::Null);
    assert!(detail.body["last_seq"].as_i64() < later.body["seq"].as_i64());
    assert_eq!(detail.body["me"]["left"], true);
    let member = get(&app, &u[0], &format!("/v1/chats/{chat}"), pos(&later)).await;
    assert_eq!(
        member.body["last_seq"], later.body["seq"],
        "members see it live"
    );
    assert_eq!(member.body["members"].as_array().map(Vec::len), Some(2));
    let history = get(
        &app,
        &u[2],
        &format!("/v1/chats/{chat}/messages"),
        pos(&later),
    )
    .await;
    assert!(
        history.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["text"] != "after you left")
    );
}

#[tokio::test]
async fn each_query_answers_after_a_scripted_history() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "project phoenix").await;
    let first = app
        .send(chat, &u[0], "m1", "the quarterly report is ready")
        .await;
    let reply = app
        .post(&format!("/v1/chats/{chat}/messages"), &u[1], Some(json!({ "client_msg_id": "m2", "kind": "text", "text": "thanks, reading the report now", "reply_to": first.id("message_id") })))
        .await;
    let mid = first.id("message_id");
    app.call(
        Method::PUT,
        &format!("/v1/chats/{chat}/messages/{mid}/reactions/%F0%9F%91%8D"),
        Some(&u[1].token),
        None,
    )
    .await;
    app.call(
        Method::PUT,
        &format!("/v1/chats/{chat}/messages/{mid}/reactions/%F0%9F%91%8D"),
        Some(&u[2].token),
        None,
    )
    .await;
    let pin = app
        .post(&format!("/v1/chats/{chat}/messages/{mid}/pin"), &u[0], None)
        .await;
    let read = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            &u[2],
            Some(json!({ "up_to_seq": 2 })),
        )
        .await;
    let at = pos(&read).max(pos(&pin)).max(pos(&reply));

    // Chat list.
    let l = get(&app, &u[0], "/v1/chats", at).await;
    let row = chat_row(&l.body, chat).unwrap();
    assert_eq!(
        (
            row["kind"].as_str(),
            row["title"].as_str(),
            row["role"].as_str()
        ),
        (Some("group"), Some("project phoenix"), Some("owner"))
    );
    assert_eq!(row["members_count"], 3);
    assert_eq!(row["last_message"]["seq"], 2);

    // Chat details with members and pins.
    let d = get(&app, &u[1], &format!("/v1/chats/{chat}"), at).await;
    assert_eq!(d.body["members"].as_array().unwrap().len(), 3, "{}", d.raw);
    assert_eq!(d.body["pinned"][0]["message_id"], mid.to_string());

    // History with reactions, reply and pins, and between them what
    // happened to the group (creation before the first message, the pin
    // after the second).
    let h = get(&app, &u[1], &format!("/v1/chats/{chat}/messages"), at).await;
    let all = h.body["items"].as_array().unwrap();
    assert_eq!(
        all.iter()
            .map(|i| (i["kind"] == "system", i["seq"].as_i64().unwrap()))
            .collect::<Vec<_>>(),
        vec![(true, 0), (false, 1), (false, 2), (true, 2)]
    );
    assert_eq!(all[3]["action"], "pinned");
    let items: Vec<&Value> = all.iter().filter(|i| i["kind"] != "system").collect();
    assert_eq!(
        items[0]["reactions"]["👍"],
        json!({ "count": 2, "mine": true })
    );
    assert_eq!(items[0]["pinned"], true);
    assert_eq!(items[1]["reply_to"]["message_id"], mid.to_string());

    // Receipts: u[2] read up to 2; u[1] read by sending seq 2.
    let r = get(
        &app,
        &u[0],
        &format!("/v1/chats/{chat}/messages/{mid}/receipts"),
        at,
    )
    .await;
    let readers: BTreeSet<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        readers,
        [u[1].id.to_string(), u[2].id.to_string()]
            .into_iter()
            .collect()
    );

    // Search, ranked with highlights.
    let s = get(&app, &u[2], "/v1/search/messages?q=report", at).await;
    assert_eq!(s.body["items"].as_array().unwrap().len(), 2, "{}", s.raw);
    assert!(
        s.body["items"][0]["highlight"]
            .as_str()
            .unwrap()
            .contains("<mark>")
    );

    // A highlight is HTML-escaped text with only the matches marked: a
    // message's markup never reaches a client that renders highlights.
    let hostile = app
        .send(
            chat,
            &u[0],
            "xss",
            "<img src=x onerror=alert(1)> quarterly report & more",
        )
        .await;
    let s = get(
        &app,
        &u[2],
        "/v1/search/messages?q=quarterly",
        pos(&hostile),
    )
    .await;
    let h = s.body["items"][0]["highlight"].as_str().unwrap_or_default();
    assert!(h.contains("<mark>quarterly</mark>"), "{h}");
    assert!(h.contains("&gt;") && h.contains("&amp;"), "escaped: {h}");
    let unmarked = h.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !unmarked.contains(['<', '>']),
        "no markup but the marks: {h}"
    );

    // Users and me.
    let who = get(&app, &u[0], &format!("/v1/users/{}", u[1].id), at).await;
    assert_eq!(who.body["user_id"], u[1].id.to_string());
    let dir = get(
        &app,
        &u[0],
        &format!(
            "/v1/users?q={}",
            &who.body["username"].as_str().unwrap()[..3]
        ),
        at,
    )
    .await;
    assert!(
        dir.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["user_id"] == u[1].id.to_string())
    );
    let me = get(&app, &u[0], "/v1/me", at).await;
    assert_eq!(me.body["user_id"], u[0].id.to_string());
}

#[tokio::test]
async fn nobody_sees_another_chats_messages_through_any_route() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let ours = app.accepted_direct(&u[0], &u[1]).await;
    let theirs = app.accepted_direct(&u[2], &u[3]).await;
    let secret = app
        .send(theirs, &u[2], "s", "classified launch codes")
        .await;
    let mine = app.send(ours, &u[0], "m", "ordinary lunch plans").await;
    let at = pos(&secret).max(pos(&mine));
    let sid = secret.id("message_id");

    let l = get(&app, &u[0], "/v1/chats", at).await;
    assert!(chat_row(&l.body, theirs).is_none());
    get(&app, &u[0], &format!("/v1/chats/{theirs}"), at)
        .await
        .problem(404, "chat_not_found");
    get(&app, &u[0], &format!("/v1/chats/{theirs}/messages"), at)
        .await
        .problem(404, "chat_not_found");
    get(
        &app,
        &u[0],
        &format!("/v1/chats/{theirs}/messages/{sid}/receipts"),
        at,
    )
    .await
    .problem(404, "chat_not_found");
    // Even naming their chat id as our own message's chat does not help.
    get(
        &app,
        &u[0],
        &format!("/v1/chats/{ours}/messages/{sid}/receipts"),
        at,
    )
    .await
    .problem(404, "message_not_found");
    let s = get(&app, &u[0], "/v1/search/messages?q=codes", at).await;
    assert_eq!(s.body["items"], json!([]), "{}", s.raw);
    let s = get(
        &app,
        &u[0],
        &format!("/v1/search/messages?q=codes&chat_id={theirs}"),
        at,
    )
    .await;
    assert_eq!(s.body["items"], json!([]));
}

#[tokio::test]
async fn paging_through_ten_thousand_messages_during_sends_sees_each_once() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let mut last = 0;
    for batch in 0..(10_000 / 50) {
        let sends = (0..50).map(|i| {
            let (app, who) = (&app, &u[i % 2]);
            async move {
                // 50 sends at once on a loaded 2-core machine can exhaust the
                // test app's 10 connections: the server then answers 503 with
                // Retry-After, and a client retries. Same client_msg_id, so a
                // retry never duplicates.
                let id = format!("p{batch}-{i}");
                let mut r = app.send(chat, who, &id, "x").await;
                for _ in 0..20 {
                    if r.status != StatusCode::SERVICE_UNAVAILABLE {
                        break;
                    }
                    // Retry-After: 1
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    r = app.send(chat, who, &id, "x").await;
                }
                r
            }
        });
        for r in join_all(sends).await {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
            last = last.max(pos(&r));
        }
    }
    // Page from the newest backwards while more messages keep arriving.
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/chats/{chat}/messages?limit=100&cursor={c}"),
            None => format!("/v1/chats/{chat}/messages?limit=100"),
        };
        let page = get(&app, &u[0], &path, last).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
        for m in page.body["items"].as_array().unwrap() {
            assert!(
                seen.insert(m["seq"].as_i64().unwrap()),
                "seq {} twice",
                m["seq"]
            );
        }
        pages += 1;
        if pages % 10 == 0 {
            app.send(chat, &u[0], &format!("during-{pages}"), "new")
                .await;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (1..=10_000).collect(),
        "every message of the first 10,000 exactly once"
    );
}

#[tokio::test]
async fn a_member_added_later_never_sees_the_preview_of_earlier_messages() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "before you").await;
    app.send(chat, &u[0], "secret", "said before the newcomer joined")
        .await;
    let added = app
        .post(
            &format!("/v1/chats/{chat}/members"),
            &u[0],
            Some(json!({ "user_ids": [u[3].id] })),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.raw);
    let l = get(&app, &u[3], "/v1/chats", pos(&added)).await;
    let row = chat_row(&l.body, chat).expect("the group is in the newcomer's list");
    assert!(row["last_message"].is_null(), "{}", l.raw);
    assert_eq!(row["unread_count"], 0);
    // Hiding the last message for oneself falls back to the one before it.
    let first = app.send(chat, &u[0], "one", "first visible").await;
    let second = app.send(chat, &u[0], "two", "second visible").await;
    let hide = app
        .delete(
            &format!(
                "/v1/chats/{chat}/messages/{}?for=me",
                second.id("message_id")
            ),
            &u[3],
        )
        .await;
    let l = get(&app, &u[3], "/v1/chats", pos(&hide)).await;
    let row = chat_row(&l.body, chat).unwrap();
    assert_eq!(
        row["last_message"]["message_id"],
        first.id("message_id").to_string(),
        "{}",
        l.raw
    );
}

#[tokio::test]
async fn a_requester_is_never_told_their_request_was_rejected() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.direct(&u[0], &u[1]).await.id("chat_id");
    let rejected = app
        .post(&format!("/v1/chats/{chat}/reject"), &u[1], None)
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.raw);
    let mine = get(&app, &u[0], "/v1/chats", pos(&rejected)).await;
    assert_eq!(
        chat_row(&mine.body, chat).unwrap()["status"],
        "pending",
        "{}",
        mine.raw
    );
    let detail = get(&app, &u[0], &format!("/v1/chats/{chat}"), pos(&rejected)).await;
    assert_eq!(detail.body["status"], "pending");
    let theirs = get(&app, &u[1], "/v1/chats?filter=requests", pos(&rejected)).await;
    assert!(
        chat_row(&theirs.body, chat).is_none(),
        "a rejected request leaves the requests list"
    );
}
