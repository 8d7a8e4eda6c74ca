//! Bounded load cost: a cold node starts a long chat from its snapshot.

use crate::support::TestApp;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_cold_node_loads_a_long_chat_from_its_snapshot() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "long").await;
    for round in 0..75 {
        let sends = (0..8).map(|i| {
            let (app, u) = (&app, &users[i % 3]);
            async move { app.send(chat, u, &format!("r{round}-{i}"), "hello").await }
        });
        for r in join_all(sends).await {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        }
    }

    // Cold cache: the first command folds all 601 events and snapshots them.
    let app = app.restart().await;
    assert_eq!(
        app.send(chat, &users[0], "after-restart", "hi").await.body["seq"],
        601
    );
    let pool = app.db().pool(1).await;
    let stream = format!("chat-{chat}");
    let (version,): (i64,) =
        sqlx::query_as("SELECT version FROM aggregate_snapshots WHERE stream = $1")
            .bind(&stream)
            .fetch_one(&pool)
            .await
            .expect("a snapshot was taken");
    assert!(version >= 601, "snapshot at {version}");

    // Plant a title only the snapshot knows; a load that starts from the
    // snapshot sees it, so renaming to it is a no-op.
    sqlx::query("UPDATE aggregate_snapshots SET state = jsonb_set(state, '{group,title}', '\"planted\"') WHERE stream = $1")
        .bind(&stream)
        .execute(&pool)
        .await
        .unwrap();
    let app = app.restart().await;
    let before = app.event_count().await;
    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&users[0].token),
            Some(json!({ "title": "planted" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        app.event_count().await,
        before,
        "the state came from the snapshot"
    );

    // A snapshot of another schema is ignored: the true title comes back.
    sqlx::query("UPDATE aggregate_snapshots SET schema = schema + 100 WHERE stream = $1")
        .bind(&stream)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let app = app.restart().await;
    let before = app.event_count().await;
    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&users[0].token),
            Some(json!({ "title": "planted" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        app.event_count().await,
        before + 1,
        "folded from the events, the title differed"
    );
}
