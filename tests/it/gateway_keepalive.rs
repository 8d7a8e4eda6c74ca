//! Keepalive: the gateway pings every socket and drops one that has been
//! silent (no frame, no pong) for its idle timeout; a client that answers
//! pings stays connected.

use std::time::Duration;

use crate::gateway_client::{Ended, Ws, app_without_gateway, gateway_node, start};
use chat_gateway::GatewayConfig;

#[tokio::test]
async fn a_silent_socket_is_dropped_and_a_responsive_one_stays() {
    let app = app_without_gateway().await;
    let config = GatewayConfig {
        ping_interval: Duration::from_millis(250),
        idle_timeout: Duration::from_millis(1_500),
        ..GatewayConfig::default()
    };
    let (base, node) = gateway_node(&app, config).await;
    start(node);
    let users = app.users(2).await;

    // Not polled, so its client never answers the pings.
    let mut silent = Ws::connect(&base, &users[0]).await;
    let mut responsive = Ws::connect(&base, &users[1]).await;
    // Polling reads the pings, and the client answers each with a pong.
    let alive = tokio::time::timeout(Duration::from_secs(4), responsive.ended()).await;
    assert!(alive.is_err(), "the responsive socket ended: {alive:?}");

    assert_eq!(
        silent.ended().await,
        Ended::Dropped,
        "the silent one was reaped"
    );
    // And the node still serves the responsive socket.
    responsive.subscribe(None).await;
}
