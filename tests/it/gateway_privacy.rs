//! The socket never shows what the query side hides: random scenarios
//! (sends, edits, deletes for me and for everyone, reactions, pins, read
//! markers, joins, leaves and removals, clears, settings, blocks) run over
//! HTTP while every user's socket listens; then each user resumes from a
//! random position. Applied in order, the frames a socket delivered must
//! show exactly what the history query answers, and no frame may be about
//! a message the user does not see, nor a read marker the receipts rule
//! hides.
//!
//! The seeds are a fixed regression corpus plus one that changes per run
//! (printed; `CHAT_DIFF_SEED=n` replays it). Below it, one test per leak
//! the issue reported (each failed before the rule was shared).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::differential::{Rng, View, history_entries, history_summary};
use crate::gateway_client::{Ws, add_members, message, own_event, pos};
use crate::support::{TestApp, User};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Seeds that found bugs, or cover a case worth keeping.
const CORPUS: [u64; 3] = [1, 7, 2026];
const STEPS: usize = 90;
const EMOJI: [&str; 2] = ["👍", "🔥"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_shows_exactly_what_the_queries_show() {
    let random = std::env::var("CHAT_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(Uuid::new_v4().as_u128() as u32));
    for seed in CORPUS.into_iter().chain([random]) {
        eprintln!("differential scenario: CHAT_DIFF_SEED={seed}");
        scenario(seed).await;
    }
}

/// What the scenario did that the checks need: who turned receipts on or
/// off where, and who hid which message.
#[derive(Default)]
struct Log {
    receipts: Vec<(u64, Uuid, bool)>,
    hides: HashSet<(Uuid, String)>,
    messages: Vec<(Uuid, String)>,
}

impl Log {
    /// Whether `user` shared read receipts at `position`.
    fn shares(&self, user: Uuid, position: u64) -> bool {
        self.receipts
            .iter()
            .rev()
            .find(|(p, u, _)| *u == user && *p <= position)
            .is_none_or(|(_, _, on)| *on)
    }
}

async fn scenario(seed: u64) {
    let mut rng = Rng::new(seed);
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let mut live = Vec::new();
    for u in &users {
        let mut ws = Ws::connect(&app.base, u).await;
        ws.subscribe(Some(0)).await;
        live.push(ws);
    }
    let group = app.group(&users[0], &[&users[1], &users[2]], "g").await;
    let direct = app.accepted_direct(&users[0], &users[3]).await;
    let pending = app.direct(&users[1], &users[2]).await.id("chat_id");
    let chats = [group, direct, pending];
    let mut log = Log::default();
    for step in 0..STEPS {
        act(&app, &users, &chats, &mut rng, &mut log, step).await;
    }
    // Each user's last event: their socket has everything once it has this.
    let mut last = Vec::new();
    for u in &users {
        last.push(own_event(&app, u, "end").await);
    }
    let end = last.iter().copied().max().unwrap_or(0);
    let mut delivered = Vec::new();
    for (ws, upto) in live.iter_mut().zip(&last) {
        delivered.push(ws.events_through(*upto).await);
    }
    for (i, u) in users.iter().enumerate() {
        unread_totals_agree(&app, u, end, seed).await;
        let truth = truth(&app, u, &chats, end).await;
        let seen = &delivered[i];
        let rule =
            |reader: Uuid, p: u64| reader == u.id || (log.shares(reader, p) && log.shares(u.id, p));
        let live_view = reduce(u.id, seen.iter(), &rule);
        compare(seed, "live", u, &live_view, &truth);
        // A resume from a random point: what the socket had up to there,
        // then the replay.
        let from = rng.below(last[i] as usize) as u64;
        let mut ws = Ws::connect(&app.base, u).await;
        ws.subscribe(Some(from)).await;
        let replayed = ws.events_through(last[i]).await;
        let now = |reader: Uuid, _: u64| {
            reader == u.id || (log.shares(reader, end) && log.shares(u.id, end))
        };
        let before = seen.iter().filter(|f| pos_of(f) <= from);
        let mut resumed = reduce(u.id, before, &rule);
        for f in &replayed {
            resumed.apply(f, &now);
            replay_leaks(&mut resumed, f, u.id, &log, &truth.messages);
        }
        compare(seed, &format!("resumed after {from}"), u, &resumed, &truth);
    }
}

/// One random command; refusals are part of the scenario, server errors
/// are not.
async fn act(
    app: &TestApp,
    users: &[User],
    chats: &[Uuid],
    rng: &mut Rng,
    log: &mut Log,
    step: usize,
) {
    let who = &users[rng.below(users.len())];
    let chat = chats[rng.below(chats.len())];
    let group = chats[0];
    let msg = rng.pick(&log.messages).cloned();
    let on_msg = |m: &(Uuid, String)| format!("/v1/chats/{}/messages/{}", m.0, m.1);
    let r = match rng.below(14) {
        0..=3 => {
            let r = app
                .send(chat, who, &format!("c{step}"), &format!("text {step}"))
                .await;
            if r.status.is_success() {
                log.messages
                    .push((chat, r.body["message_id"].as_str().unwrap_or("").to_owned()));
            }
            r
        }
        4 => match &msg {
            Some(m) => {
                app.call(
                    Method::PATCH,
                    &on_msg(m),
                    Some(&who.token),
                    Some(json!({"text": format!("edited {step}")})),
                )
                .await
            }
            None => return,
        },
        5 => match &msg {
            Some(m) => {
                app.delete(&format!("{}?for=everyone", on_msg(m)), who)
                    .await
            }
            None => return,
        },
        6 => match &msg {
            Some(m) => {
                let r = app.delete(&format!("{}?for=me", on_msg(m)), who).await;
                if r.status.is_success() {
                    log.hides.insert((who.id, m.1.clone()));
                }
                r
            }
            None => return,
        },
        7 => match &msg {
            Some(m) => {
                let path = format!("{}/reactions/{}", on_msg(m), EMOJI[rng.below(2)]);
                let method = if rng.below(3) == 0 {
                    Method::DELETE
                } else {
                    Method::PUT
                };
                app.call(method, &path, Some(&who.token), None).await
            }
            None => return,
        },
        8 => match &msg {
            Some(m) if rng.below(2) == 0 => {
                app.post(&format!("{}/pin", on_msg(m)), who, None).await
            }
            Some(m) => app.delete(&format!("{}/pin", on_msg(m)), who).await,
            None => return,
        },
        9 => {
            let up_to = rng.below(log.messages.len() + 1) as u64;
            // Both receipts markers fall under the same rule.
            let marker = ["read", "delivered"][rng.below(2)];
            app.post(
                &format!("/v1/chats/{chat}/{marker}"),
                who,
                Some(json!({"up_to_seq": up_to})),
            )
            .await
        }
        10 => {
            let other = &users[rng.below(users.len())];
            match rng.below(3) {
                0 => {
                    app.post(
                        &format!("/v1/chats/{group}/members"),
                        &users[0],
                        Some(json!({"user_ids": [other.id]})),
                    )
                    .await
                }
                1 => {
                    app.delete(
                        &format!("/v1/chats/{group}/members/{}", other.id),
                        &users[0],
                    )
                    .await
                }
                _ => {
                    app.post(&format!("/v1/chats/{group}/leave"), other, None)
                        .await
                }
            }
        }
        11 => {
            let on = rng.below(2) == 0;
            let r = app
                .call(
                    Method::PUT,
                    "/v1/me/settings",
                    Some(&who.token),
                    Some(json!({"read_receipts": on})),
                )
                .await;
            if r.status.is_success() {
                log.receipts.push((pos(&r.body), who.id, on));
            }
            r
        }
        12 => app.delete(&format!("/v1/chats/{chat}"), who).await,
        _ => {
            let other = &users[rng.below(users.len())];
            let path = format!("/v1/users/{}/block", other.id);
            if rng.below(2) == 0 {
                app.post(&path, who, None).await
            } else {
                app.delete(&path, who).await
            }
        }
    };
    assert!(r.status.as_u16() < 500, "step {step}: {:?}", r.body);
}

/// `GET /v1/me`'s `total_unread` and the push badge count a member's
/// window by its bounds (`chat_common::unread_count!`); message by message
/// (`chat_common::unread_messages!`, what the chat list counts) must give
/// the same, whatever the scenario did: own messages, deletes, hides,
/// joins and leaves, clears, reads.
async fn unread_totals_agree(app: &TestApp, user: &User, end: u64, seed: u64) {
    app.get_at(user, "/v1/me", end).await;
    let pool = app.db().pool(1).await;
    let by_bounds: i64 = sqlx::query_scalar(concat!(
        "SELECT ",
        chat_common::total_unread!(),
        " FROM rm_users.users u WHERE u.user_id = $1"
    ))
    .bind(user.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let by_scan: i64 = sqlx::query_scalar(concat!(
        "SELECT coalesce(sum((SELECT count(*) FROM (SELECT 1 ",
        chat_common::unread_messages!(),
        " LIMIT 9999) q)), 0)::bigint FROM rm_chats.user_chats uc \
           JOIN rm_chats.members m ON m.chat_id = uc.chat_id AND m.user_id = uc.user_id \
           JOIN rm_chats.chats c ON c.chat_id = uc.chat_id \
          WHERE uc.user_id = $1 AND NOT uc.archived AND ",
        chat_common::listed!()
    ))
    .bind(user.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        by_bounds, by_scan,
        "seed {seed}, user {}: unread by the window's bounds vs message by message",
        user.id
    );
}

/// What the history query shows `user` of each chat (empty where they were
/// never a member), as of `end`: the messages, and the system entries' ids.
struct Truth {
    messages: HashMap<String, BTreeMap<u64, Value>>,
    entries: HashMap<String, BTreeSet<u64>>,
}

async fn truth(app: &TestApp, user: &User, chats: &[Uuid], end: u64) -> Truth {
    let mut out = HashMap::new();
    let mut entries = HashMap::new();
    for chat in chats {
        // Every page: system entries share the pages with messages.
        let mut items = Vec::new();
        let mut from = "after_seq=0".to_owned();
        loop {
            let path = format!("/v1/chats/{chat}/messages?{from}&limit=100&min_position={end}");
            let r = app.call(Method::GET, &path, Some(&user.token), None).await;
            match r.status.as_u16() {
                200 => items.extend(r.body["items"].as_array().cloned().unwrap_or_default()),
                404 => break,
                s => panic!("history answered {s}: {:?}", r.body),
            }
            match r.body["next_cursor"].as_str() {
                Some(c) => from = format!("cursor={c}"),
                None => break,
            }
        }
        out.insert(chat.to_string(), history_summary(&items));
        entries.insert(chat.to_string(), history_entries(&items));
    }
    Truth {
        messages: out,
        entries,
    }
}

fn reduce<'a>(
    me: Uuid,
    frames: impl Iterator<Item = &'a Value>,
    rule: &dyn Fn(Uuid, u64) -> bool,
) -> View {
    let mut view = View::new(me);
    for f in frames {
        view.apply(f, rule);
    }
    view
}

/// A replayed frame may not carry text the query no longer shows (deleted
/// for everyone) nor anything about a message the user hid.
fn replay_leaks(
    view: &mut View,
    f: &Value,
    me: Uuid,
    log: &Log,
    truth: &HashMap<String, BTreeMap<u64, Value>>,
) {
    let e = &f["event"];
    let Some(id) = e["message_id"].as_str() else {
        return;
    };
    if e["type"] != "MessageHiddenForMe" && log.hides.contains(&(me, id.to_owned())) {
        view.violations.push(format!(
            "{}: replayed {} of a message they hid",
            pos_of(f),
            e["type"]
        ));
    }
    let chat = e["chat_id"].as_str().unwrap_or("");
    let deleted = truth
        .get(chat)
        .and_then(|c| c.get(&e["seq"].as_u64().unwrap_or(0)))
        .is_some_and(|m| m["deleted"] == true);
    if deleted && e["text"].is_string() {
        view.violations.push(format!(
            "{}: replayed the text of a deleted message",
            pos_of(f)
        ));
    }
}

fn compare(seed: u64, how: &str, user: &User, view: &View, truth: &Truth) {
    assert!(
        view.violations.is_empty(),
        "seed {seed}, {how}, user {}: {:#?}",
        user.id,
        view.violations
    );
    for (chat, expected) in &truth.messages {
        assert_eq!(
            &view.summary(chat),
            expected,
            "seed {seed}, {how}, user {}, chat {chat}: socket view vs history",
            user.id
        );
    }
    for (chat, expected) in &truth.entries {
        assert_eq!(
            &view.entry_ids(chat),
            expected,
            "seed {seed}, {how}, user {}, chat {chat}: socket frames vs history's system entries",
            user.id
        );
    }
}

fn pos_of(f: &Value) -> u64 {
    f["position"].as_u64().unwrap_or(0)
}

/// The frames of `events` about the message `id`.
fn about(events: &[Value], id: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|f| f["event"]["message_id"] == id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_resume_replays_a_deleted_message_as_a_tombstone_and_never_one_hidden_for_me() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "resume").await;
    let start = own_event(&app, &u[1], "start").await;
    let gone = app
        .send(chat, &u[0], "gone", "deleted text")
        .await
        .id("message_id");
    let mine = app
        .send(chat, &u[0], "mine", "hidden text")
        .await
        .id("message_id");
    let on = |id: Uuid| format!("/v1/chats/{chat}/messages/{id}");
    let r = app
        .delete(&format!("{}?for=everyone", on(gone)), &u[0])
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = app.delete(&format!("{}?for=me", on(mine)), &u[1]).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let end = own_event(&app, &u[1], "end").await;

    let mut ws = Ws::connect(&app.base, &u[1]).await;
    ws.subscribe(Some(start)).await;
    let events = ws.events_through(end).await;
    let sent = about(&events, &gone.to_string());
    assert_eq!(sent[0]["event"]["type"], "MessageSent");
    assert_eq!(sent[0]["event"]["text"], Value::Null, "{sent:?}");
    assert_eq!(sent[0]["event"]["deleted"], true);
    assert!(
        !events
            .iter()
            .any(|f| f.to_string().contains("deleted text"))
    );
    let hidden = about(&events, &mine.to_string());
    assert_eq!(hidden.len(), 1, "only the hide itself: {hidden:?}");
    assert_eq!(hidden[0]["event"]["type"], "MessageHiddenForMe");
}

#[tokio::test]
async fn read_markers_of_a_user_without_receipts_reach_nobody_else() {
    let app = TestApp::spawn().await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "receipts").await;
    let r = app
        .call(
            Method::PUT,
            "/v1/me/settings",
            Some(&u[1].token),
            Some(json!({"read_receipts": false})),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let mut others = Ws::connect(&app.base, &u[0]).await;
    others.subscribe(None).await;
    let mut own = Ws::connect(&app.base, &u[1]).await;
    own.subscribe(None).await;
    message(&app, chat, &u[0], "read me").await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/read"),
            &u[1],
            Some(json!({"up_to_seq": 1})),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let marker = pos(&r.body);
    assert_eq!(
        own.events_through(marker).await.last().unwrap()["event"]["type"],
        "ReadMarkerMoved"
    );
    let end = own_event(&app, &u[0], "end").await;
    let seen = others.events_through(end).await;
    assert!(
        !seen.iter().any(|f| f["event"]["type"] == "ReadMarkerMoved"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_new_member_receives_nothing_about_messages_from_before_they_joined() {
    let app = TestApp::spawn().await;
    let u = app.users(4).await;
    let (a, b, c, d) = (&u[0], &u[1], &u[2], &u[3]);
    let chat = app.group(a, &[b, c], "history").await;
    let old = app.send(chat, a, "old", "before d").await.id("message_id");
    add_members(&app, chat, a, &[d]).await;
    let mut ws = Ws::connect(&app.base, d).await;
    ws.subscribe(None).await;
    let on = format!("/v1/chats/{chat}/messages/{old}");
    for r in [
        app.call(
            Method::PATCH,
            &on,
            Some(&a.token),
            Some(json!({"text": "edited before d"})),
        )
        .await,
        app.call(
            Method::PUT,
            &format!("{on}/reactions/👍"),
            Some(&b.token),
            None,
        )
        .await,
        app.post(&format!("{on}/pin"), a, None).await,
        app.delete(&format!("{on}?for=everyone"), a).await,
    ] {
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    let end = own_event(&app, d, "end").await;
    let seen = ws.events_through(end).await;
    assert_eq!(seen.len(), 1, "only d's own event: {seen:?}");
}
