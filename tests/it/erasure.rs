//! Erasure by crypto-shredding (`docs/decisions/0018-erasure.md`): after a
//! message is deleted for everyone, and after an account is deleted, a
//! search of every table of the database (the events, every read model,
//! the snapshots, the idempotency answers, the auth tables) and of the
//! Kafka topic read from the start finds none of the erased words, the
//! log's hash chain still verifies, and every projection still rebuilds.
//! Each search is checked against a word that must still be found, so a
//! search that could not find anything fails.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::gateway_client::{Ws, message};
use crate::kafka::{brokers, config as topic_config, consume, wait_published};
use crate::support::{TestApp, User, test_config};
use chat_testkit::TestDb;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// A word no test writes by chance.
fn word(tag: &str) -> String {
    format!("{tag}{}", Uuid::new_v4().simple())
}

/// Every table of every schema whose rows, as text (bytea as hex too),
/// contain `needle`.
async fn tables_holding(pool: &PgPool, needle: &str) -> Vec<String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema, table_name FROM information_schema.tables \
          WHERE table_type = 'BASE TABLE' \
            AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(pool)
    .await
    .expect("the tables");
    assert!(tables.len() > 20, "every schema is searched: {tables:?}");
    let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
    let mut found = Vec::new();
    for (schema, table) in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{schema}\".\"{table}\" t \
              WHERE strpos(lower(t::text), lower($1)) > 0 OR strpos(t::text, $2) > 0"
        ))
        .bind(needle)
        .bind(&hex)
        .fetch_one(pool)
        .await
        .expect("a search");
        if n > 0 {
            found.push(format!("{schema}.{table}"));
        }
    }
    found
}

/// Every projection (and the publisher) at the log's head.
async fn caught_up(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.readyz().await;
        let head = &r["event_store"]["head_position"];
        if r["projections"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| &p["position"] == head))
        {
            return;
        }
        assert!(Instant::now() < deadline, "never caught up: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The topic from the start, as text, once everything is published.
async fn topic_text(app: &TestApp, topic: &str) -> String {
    let pool = app.db().pool(1).await;
    let head: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&pool)
        .await
        .expect("head");
    wait_published(&pool, topic, head as u64).await;
    let records = consume(&brokers(), topic, head as usize).await;
    records
        .iter()
        .map(|r| r.value.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn audit_verifies(url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_chat"))
        .args(["audit", "verify", "--all"])
        .env("DATABASE_URL", url)
        .output()
        .expect("chat runs");
    assert!(
        out.status.success(),
        "the chain verifies: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

async fn rebuilt(app: &TestApp) {
    let pool = app.db().pool(2).await;
    chat_projector::rebuild(&pool, &*app.state.store, None)
        .await
        .expect("every projection rebuilds");
}

async fn nowhere(pool: &PgPool, words: &[&String], when: &str) {
    for w in words {
        let found = tables_holding(pool, w).await;
        assert_eq!(found, Vec::<String>::new(), "{w} {when}");
    }
}

/// What `viewer` sees of a deleted user: the name, and their messages
/// without text (not deleted: nobody deleted them), next to what others
/// wrote.
async fn shown_as_deleted(app: &TestApp, viewer: &User, deleted: Uuid, chat: Uuid, kept: &str) {
    let profile = app.get(&format!("/v1/users/{deleted}"), viewer).await;
    assert_eq!(
        profile.body["display_name"], "Deleted user",
        "{}",
        profile.raw
    );
    assert_eq!(profile.body["deleted"], true);
    let history = app.get(&format!("/v1/chats/{chat}/messages"), viewer).await;
    let items = history.body["items"].as_array().expect("items").clone();
    let theirs: Vec<&Value> = items
        .iter()
        .filter(|m| m["sender_id"] == json!(deleted))
        .collect();
    assert_eq!(theirs.len(), 2, "{}", history.raw);
    assert!(
        theirs
            .iter()
            .all(|m| m["text"].is_null() && m["deleted"] == false),
        "{}",
        history.raw
    );
    assert!(history.raw.contains(kept));
}

async fn spawn_with_kafka() -> (TestApp, String) {
    let db = TestDb::create().await;
    let mut cfg = test_config(&db);
    let kafka = topic_config(&brokers());
    let topic = kafka.topic.clone();
    cfg.kafka = Some(kafka);
    (TestApp::spawn_with(db, cfg).await, topic)
}

async fn send(app: &TestApp, chat: Uuid, who: &User, body: Value) -> Uuid {
    let mut body = body;
    body["client_msg_id"] = json!(Uuid::new_v4().to_string());
    let r = app
        .post(&format!("/v1/chats/{chat}/messages"), who, Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.id("message_id")
}

#[tokio::test]
async fn a_message_deleted_for_everyone_leaves_its_text_nowhere() {
    let (app, topic) = spawn_with_kafka().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let (first, edited, kept) = (word("ruby"), word("garnet"), word("opal"));
    let m = send(&app, chat, &u[0], json!({"kind": "text", "text": first})).await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}/messages/{m}"),
            Some(&u[0].token),
            Some(json!({ "text": edited })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    send(&app, chat, &u[1], json!({"kind": "text", "text": kept})).await;
    caught_up(&app).await;
    let pool = app.db().pool(1).await;
    assert_eq!(
        tables_holding(&pool, &edited).await,
        ["rm_messages.messages"],
        "before the delete the text is in the read models, never in the log"
    );
    assert!(tables_holding(&pool, &first).await == ["rm_messages.versions"]);

    let r = app
        .delete(
            &format!("/v1/chats/{chat}/messages/{m}?for=everyone"),
            &u[0],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    caught_up(&app).await;
    for w in [&first, &edited] {
        assert_eq!(tables_holding(&pool, w).await, Vec::<String>::new(), "{w}");
    }
    assert!(
        tables_holding(&pool, &kept)
            .await
            .contains(&"rm_messages.messages".to_owned()),
        "the search finds what was not erased"
    );
    let on_topic = topic_text(&app, &topic).await;
    assert!(!on_topic.contains(&first) && !on_topic.contains(&edited));
    assert!(
        on_topic.contains("MessageDeleted"),
        "the erasure is published"
    );

    audit_verifies(&app.db().url);
    rebuilt(&app).await;
    for w in [&first, &edited] {
        assert_eq!(tables_holding(&pool, w).await, Vec::<String>::new(), "{w}");
    }
    let history = app.get(&format!("/v1/chats/{chat}/messages"), &u[1]).await;
    assert!(history.raw.contains(&kept) && !history.raw.contains(&edited));
}

#[tokio::test]
async fn a_deleted_account_is_erased_everywhere_and_shows_as_deleted_user() {
    let (app, topic) = spawn_with_kafka().await;
    let name = format!("ann{}", &Uuid::new_v4().simple().to_string()[..12]);
    let email = format!("{name}@example.org");
    let r = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"username": name, "password": "correct horse battery", "email": email})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let ann = User {
        id: r.id("user_id"),
        token: r.body["access_token"].as_str().expect("a token").to_owned(),
        refresh: r.body["refresh_token"]
            .as_str()
            .expect("a token")
            .to_owned(),
    };
    let u = app.users(2).await;
    let chat = app.group(&u[0], &[&ann, &u[1]], "book club").await;
    let direct = app.accepted_direct(&u[0], &ann).await;
    let (said, quiz, bio, mood, kept) = (
        word("sapphire"),
        word("quiz"),
        word("bio"),
        word("mood"),
        word("topaz"),
    );
    for (method, path, body) in [
        (
            Method::PUT,
            "/v1/me/profile",
            json!({"bio": bio, "display_name": "Ann Example"}),
        ),
        (
            Method::PUT,
            "/v1/me/status",
            json!({"status": "away", "text": mood}),
        ),
    ] {
        let r = app.call(method, path, Some(&ann.token), Some(body)).await;
        assert!(r.status.is_success(), "{path}: {}", r.raw);
    }
    // A keyed send stores its answer in the idempotency table.
    let r = app
        .call_with(
            Method::POST,
            &format!("/v1/chats/{chat}/messages"),
            Some(&ann.token),
            Some(json!({"client_msg_id": "k1", "kind": "text", "text": said})),
            &[("Idempotency-Key", "ann-key-1")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    send(
        &app,
        chat,
        &ann,
        json!({"kind": "poll", "poll": {"question": quiz, "options": ["yes", "no"]}}),
    )
    .await;
    send(&app, chat, &u[1], json!({"kind": "text", "text": kept})).await;
    caught_up(&app).await;
    let pool = app.db().pool(1).await;
    for w in [&name, &email, &said, &quiz, &bio, &mood] {
        let found = tables_holding(&pool, w).await;
        assert!(!found.is_empty(), "{w} is stored somewhere before");
        assert!(
            !found.contains(&"public.events".to_owned()),
            "{w} is sealed in the log"
        );
    }

    // Proof first: nothing happens without the password.
    let delete = |body: Value| app.call(Method::DELETE, "/v1/me", Some(&ann.token), Some(body));
    delete(json!({})).await.problem(403, "password_required");
    delete(json!({"password": "wrong horse battery"}))
        .await
        .problem(403, "wrong_password");
    assert!(!tables_holding(&pool, &name).await.is_empty());
    let r = delete(json!({"password": "correct horse battery"})).await;
    assert_eq!(r.status, 202, "{}", r.raw);

    // Signed out everywhere, and the name is free.
    app.get("/v1/me", &ann)
        .await
        .problem(401, "session_revoked");
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"username": name, "password": "correct horse battery"})),
        )
        .await;
    login.problem(401, "invalid_credentials");

    caught_up(&app).await;
    let erased = [&name, &email, &said, &quiz, &bio, &mood];
    nowhere(&pool, &erased, "after the deletion").await;
    assert!(
        !tables_holding(&pool, &kept).await.is_empty(),
        "the search finds what was not erased"
    );
    let on_topic = topic_text(&app, &topic).await;
    for w in [&name, &said, &quiz, &bio, &mood] {
        assert!(!on_topic.contains(w.as_str()), "{w} on the topic");
    }
    assert!(on_topic.contains("UserErased"), "the erasure is published");

    // Others see a deleted user and no text; the group goes on.
    shown_as_deleted(&app, &u[1], ann.id, chat, &kept).await;
    let after = message(&app, chat, &u[0], "still here").await;
    // A socket's resume from the start shows their messages as history
    // does: there, but with nothing of theirs readable.
    let mut ws = Ws::connect(&app.base, &u[1]).await;
    ws.subscribe(Some(0)).await;
    let frames = ws.events_through(after).await;
    let replayed: Vec<&Value> = frames
        .iter()
        .filter(|f| f["event"]["type"] == "MessageSent" && f["event"]["sender_id"] == json!(ann.id))
        .collect();
    assert_eq!(replayed.len(), 2, "{frames:?}");
    assert!(replayed.iter().all(|f| f["event"]["text"].is_null()));
    let replay = serde_json::to_string(&frames).expect("JSON");
    for w in [&name, &said, &quiz, &bio, &mood] {
        assert!(!replay.contains(w.as_str()), "{w} on the socket");
    }
    ws.close().await;
    // Nobody would read it: a direct chat with them takes no more writes.
    app.send(direct, &u[0], "late", "anyone there?")
        .await
        .problem(403, "blocked");

    audit_verifies(&app.db().url);
    rebuilt(&app).await;
    nowhere(&pool, &erased, "after a rebuild").await;
    shown_as_deleted(&app, &u[1], ann.id, chat, &kept).await;
}
