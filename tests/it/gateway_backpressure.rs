//! Back-pressure: a client that stops reading is closed with the
//! slow-consumer code, and the others on the node keep receiving in time.

use std::time::{Duration, Instant};

use crate::gateway_client::{Ended, Ws, app_without_gateway, gateway_node, message, start};
use chat_gateway::GatewayConfig;
use chat_gateway::protocol::CLOSE_SLOW_CONSUMER;

#[tokio::test]
async fn a_stalled_client_is_closed_as_slow_while_another_keeps_receiving() {
    let app = app_without_gateway().await;
    let config = GatewayConfig {
        queue_capacity: 8,
        // Slowness is found by the queue filling; this only bounds how long
        // the session waits to write its close frame to a client that has
        // not read yet (the test reads it only after its loop, which on a
        // loaded machine can take seconds).
        send_timeout: Duration::from_secs(20),
        ..GatewayConfig::default()
    };
    let (base, node) = gateway_node(&app, config).await;
    let gateway = node.state().gateway.clone().expect("a gateway");
    start(node);
    let users = app.users(3).await;
    let (a, stalled_user, healthy_user) = (&users[0], &users[1], &users[2]);
    let chat = app
        .group(a, &[stalled_user, healthy_user], "firehose")
        .await;

    let mut stalled = Ws::connect_small_buffer(&base, stalled_user).await;
    stalled.subscribe(None).await;
    let mut healthy = Ws::connect(&base, healthy_user).await;
    healthy.subscribe(None).await;
    assert_eq!(gateway.connections(), 2);

    // The largest messages, until the kernel's socket buffers (megabytes on
    // loopback) and then the node's queue of 8 are full; the healthy client
    // reads each one as it comes.
    let text = "x".repeat(4096);
    let mut slowest = Duration::ZERO;
    for _ in 0..3000 {
        let p = message(&app, chat, a, &text).await;
        let sent = Instant::now();
        let e = healthy.event().await;
        assert_eq!(e["position"], p);
        slowest = slowest.max(sent.elapsed());
        if gateway.connections() == 1 {
            break;
        }
    }
    assert_eq!(gateway.connections(), 1, "the stalled client was dropped");
    assert!(
        slowest < Duration::from_secs(2),
        "the healthy client waited {slowest:?}"
    );

    // Once it reads again, it finds its backlog and then the close code.
    assert_eq!(stalled.ended().await, Ended::Close(CLOSE_SLOW_CONSUMER));

    // The healthy client is still live.
    let p = message(&app, chat, a, "still here").await;
    assert_eq!(healthy.event().await["position"], p);
}
