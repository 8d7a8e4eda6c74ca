//! The node's one tail of the global log: every event, in position order,
//! routed by the hub to the sockets of the users it concerns.

use std::sync::Arc;

use chat_store::EventStore;
use futures::StreamExt;
use tokio::sync::watch;
use tracing::{error, info};

use crate::hub::Hub;
use crate::route;
use crate::status::Statuses;

/// Tail the log after `from` until `stop` (or the store shuts down).
pub(crate) async fn run(
    hub: Arc<Hub>,
    statuses: Statuses,
    store: Arc<dyn EventStore>,
    from: u64,
    mut stop: watch::Receiver<bool>,
) {
    let mut events = store.subscribe(from);
    info!(from, "gateway tail started");
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            next = events.next() => match next {
                Some(Ok(rec)) => {
                    statuses.apply(&rec.event_type, &rec.payload);
                    let target = route::target(&rec.stream, &rec.event_type, &rec.payload);
                    hub.dispatch(rec.position, &target, || {
                        route::frame(rec.position, &target, &rec.payload)
                    });
                }
                Some(Err(e)) => error!(error = %e, "gateway tail: unreadable event"),
                None => {
                    error!("gateway tail: the event store subscription ended");
                    return;
                }
            }
        }
    }
}
