//! The audit routes: auditors only; the log, a stream, state at a point,
//! and integrity.

use crate::support::TestApp;
use chat_common::auth::{JwtConfig, TokenSigner};
use chat_common::config::Secret;
use reqwest::{Method, StatusCode};
use time::OffsetDateTime;
use uuid::Uuid;

fn auditor_token() -> String {
    let signer = TokenSigner::new(&JwtConfig::new(Secret::new(crate::support::SECRET))).unwrap();
    let claims = signer.claims(
        Uuid::now_v7(),
        vec!["auditor".into()],
        OffsetDateTime::now_utc(),
        time::Duration::minutes(5),
    );
    signer.sign(&claims).unwrap()
}

#[tokio::test]
async fn auditors_read_the_log_travel_in_time_and_verify_while_others_are_refused() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    app.send(chat, &u[0], "a", "first").await;
    let before_second = OffsetDateTime::now_utc();
    app.send(chat, &u[1], "b", "second").await;
    let auditor = auditor_token();
    let stream = format!("chat-{chat}");

    // Not an auditor: 403 on every route.
    for path in [
        "/v1/audit/events".to_owned(),
        format!("/v1/audit/streams/{stream}"),
        format!("/v1/audit/streams/{stream}/verify"),
        format!("/v1/audit/chats/{chat}/state"),
    ] {
        app.call(Method::GET, &path, Some(&u[0].token), None)
            .await
            .problem(403, "auditor_role_required");
    }

    let log = app
        .call(
            Method::GET,
            "/v1/audit/events?from_position=0&limit=3",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.raw);
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["position"], 1);
    assert!(items[0]["metadata"].is_object() && items[0]["event_id"].is_string());
    let next = log.body["next_cursor"].as_str().unwrap();
    let rest = app
        .call(
            Method::GET,
            &format!("/v1/audit/events?from_position={next}"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(rest.body["items"][0]["position"], 4);

    let history = app
        .call(
            Method::GET,
            &format!("/v1/audit/streams/{stream}?from_version=2"),
            Some(&auditor),
            None,
        )
        .await;
    let types: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ChatRequestAccepted", "MessageSent", "MessageSent"]);

    let at_v3 = app
        .call(
            Method::GET,
            &format!("/v1/audit/chats/{chat}/state?at_version=3"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(
        (
            at_v3.body["version"].as_u64(),
            at_v3.body["state"]["last_seq"].as_u64()
        ),
        (Some(3), Some(1)),
        "{}",
        at_v3.raw
    );
    let t = before_second
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let at_t = app
        .call(
            Method::GET,
            &format!(
                "/v1/audit/chats/{chat}/state?at_time={}",
                t.replace('+', "%2B")
            ),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(at_t.body["state"]["last_seq"], 1, "{}", at_t.raw);
    let now = app
        .call(
            Method::GET,
            &format!("/v1/audit/chats/{chat}/state"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(now.body["state"]["last_seq"], 2);

    let ok = app
        .call(
            Method::GET,
            &format!("/v1/audit/streams/{stream}/verify"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(
        (ok.body["valid"].as_bool(), ok.body["events"].as_u64()),
        (Some(true), Some(4)),
        "{}",
        ok.raw
    );
    let pool = app.db().pool(1).await;
    sqlx::query("UPDATE events SET metadata = '{}' WHERE stream = $1 AND version = 2")
        .bind(&stream)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let broken = app
        .call(
            Method::GET,
            &format!("/v1/audit/streams/{stream}/verify"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(
        (
            broken.body["valid"].as_bool(),
            broken.body["first_broken_version"].as_u64()
        ),
        (Some(false), Some(2))
    );

    app.call(
        Method::GET,
        "/v1/audit/streams/chat-nothing/verify",
        Some(&auditor),
        None,
    )
    .await
    .problem(404, "stream_not_found");
    app.call(
        Method::GET,
        &format!("/v1/audit/chats/{}/state", Uuid::now_v7()),
        Some(&auditor),
        None,
    )
    .await
    .problem(404, "chat_not_found");
}
