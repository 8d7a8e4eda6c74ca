//! The HTTP/1 server loop, ours rather than `axum::serve` because a client
//! must not be able to hold a connection for nothing:
//!
//! * **header-read and idle timeout**: hyper's `header_read_timeout` runs
//!   from the moment a connection opens and again each time it goes idle
//!   after a response, so a client that never finishes its headers, or
//!   keeps an idle keep-alive connection, is dropped after it;
//! * **graceful shutdown with a deadline**: on shutdown every connection is
//!   told to finish its in-flight request and close; the caller drops what
//!   is still open after its grace.
//!
//! The time one request may take is the router's business
//! ([`crate::app`]'s request deadline), not the connection's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Serve `router` on `listener` until `stop` turns true, then let open
/// connections finish; answers when the last one closed (the caller bounds
/// the wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let http = Arc::new(http);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(http.clone(), stream, peer, router.clone(), stop.clone()));
                }
                // Out of file descriptors and the like: the listener stays
                // good, so wait a little instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections as they go, so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    http: Arc<hyper::server::conn::http1::Builder>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // The per-IP rate limit of the auth routes reads the peer address.
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let conn = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => log_end(r),
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
}

/// Resolves once `stop` turns true; never if its sender is dropped first
/// (nobody can ask for a stop any more).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` answers is not `Send`: drop it here.
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn log_end(r: Result<(), hyper::Error>) {
    match r {
        Ok(()) => {}
        // The header-read timeout, or a client that went away: routine.
        Err(e) if e.is_timeout() || e.is_incomplete_message() || e.is_closed() => {
            tracing::debug!(error = %e, "connection ended");
        }
        Err(e) => tracing::debug!(error = %e, "connection error"),
    }
}
