//! `/readyz` and `/metrics` report every part this process runs: the log's
//! head, each projection's position and lag, and the gateway's tail.

use std::time::{Duration, Instant};

use crate::gateway_client::Ws;
use crate::support::TestApp;

#[tokio::test]
async fn readyz_and_metrics_report_projections_and_the_gateway_catching_up_to_the_head() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    app.send(chat, &u[0], "m1", "hello").await;
    let _socket = Ws::connect(&app.base, &u[1]).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    let r = loop {
        let r = app.readyz().await;
        let head = r["event_store"]["head_position"].as_u64().expect("head");
        let projections = r["projections"].as_array().expect("projections");
        let caught_up =
            projections.iter().all(|p| p["position"] == head) && r["gateway"]["position"] == head;
        if caught_up && r["gateway"]["connections"] == 1 {
            break r;
        }
        assert!(Instant::now() < deadline, "never caught up: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let head = r["event_store"]["head_position"].as_u64().expect("head");
    assert!(
        head >= 5,
        "registrations, the request, its acceptance, the message"
    );
    assert_eq!(r["gateway"]["lag_events"], 0);
    let names: Vec<&str> = r["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    // The push notifier's projection is reported too (its lag is the
    // notifications' backlog).
    assert_eq!(names, ["users", "chats", "messages", "media", "push"]);

    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        format!("chat_event_store_head_position {head}"),
        format!("chat_projection_position{{projection=\"messages\"}} {head}"),
        "chat_projection_lag_events{projection=\"chats\"} 0".to_owned(),
        format!("chat_gateway_position {head}"),
        "chat_gateway_connections 1".to_owned(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
}
