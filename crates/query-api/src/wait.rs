//! Read-your-writes: `?min_position=n` waits until every projection's
//! checkpoint has reached `n`. One task per process follows the projector's
//! NOTIFYs on `chat_projections` (re-reading the checkpoints every second,
//! so a missed notification only delays); waiting requests only watch it.
//! A position past the log's head is a 400 at once.
//! Past the timeout the answer is 503 `projection_lagging` with
//! `Retry-After`, never a stale read presented as fresh.

use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::QueryState;

/// NOTIFY channel the projector announces committed batches on.
pub const CHANNEL: &str = "chat_projections";

/// The projections the query routes read (the media read model is read by
/// the command side only).
const READ: [&str; 3] = ["users", "chats", "messages"];

/// How often the positions are re-read in case a notification was lost.
const REFRESH: Duration = Duration::from_secs(1);

/// The slowest projection's position, kept by one task per process from the
/// projector's notifications (`'<name>:<position>'`) and a periodic re-read:
/// a request that waits only watches it, and costs no query while it waits.
#[derive(Clone)]
pub struct Positions {
    projected: watch::Receiver<u64>,
}

impl Positions {
    pub fn start(pool: PgPool) -> Positions {
        let (tx, rx) = watch::channel(0u64);
        tokio::spawn(async move {
            let mut at = [0u64; READ.len()];
            let publish = |at: &[u64; READ.len()]| {
                let slowest = at.iter().copied().min().unwrap_or(0);
                tx.send_if_modified(|v| {
                    let moved = slowest > *v;
                    if moved {
                        *v = slowest;
                    }
                    moved
                });
            };
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(mut l) => match l.listen(CHANNEL).await {
                        Ok(()) => Some(l),
                        Err(_) => None,
                    },
                    Err(_) => None,
                };
                if listener.is_none() {
                    tracing::warn!("cannot LISTEN for projections; re-reading positions only");
                }
                let mut refresh = tokio::time::interval(REFRESH);
                loop {
                    tokio::select! {
                        _ = refresh.tick() => match checkpoints(&pool).await {
                            Ok(read) => {
                                for (a, r) in at.iter_mut().zip(read) {
                                    *a = (*a).max(r);
                                }
                                publish(&at);
                            }
                            Err(e) => tracing::warn!(error = %e, "reading the checkpoints failed"),
                        },
                        n = async { match listener.as_mut() {
                            Some(l) => l.recv().await.map(Some),
                            None => std::future::pending().await,
                        } } => match n {
                            Ok(Some(n)) => {
                                if let Some((name, p)) = n.payload().split_once(':')
                                    && let (Some(i), Ok(p)) =
                                        (READ.iter().position(|r| *r == name), p.parse::<u64>())
                                {
                                    at[i] = at[i].max(p);
                                    publish(&at);
                                }
                            }
                            _ => break,
                        },
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Positions { projected: rx }
    }

    /// Wait until every projection has reached `min`, or `timeout` passes.
    /// A position past the log's head can never be reached: 400 at once.
    pub async fn wait_for(
        &self,
        pool: &PgPool,
        min: u64,
        timeout: Duration,
    ) -> Result<(), ApiError> {
        if *self.projected.borrow() >= min {
            return Ok(());
        }
        let (head,): (i64,) = sqlx::query_as("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(pool)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        if min > u64::try_from(head).unwrap_or(0) {
            return Err(ApiError::bad_request(
                "invalid_min_position",
                format!("min_position {min} is past the log's head ({head})"),
            )
            .with_field("min_position"));
        }
        let mut projected = self.projected.clone();
        match tokio::time::timeout(timeout, projected.wait_for(|p| *p >= min)).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                let at = *self.projected.borrow();
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "projection_lagging",
                    format!("the read models are at position {at}, not yet {min}; retry"),
                )
                .with_retry_after(1))
            }
        }
    }
}

/// The checkpoints of [`READ`], in that order (0 where none yet).
async fn checkpoints(pool: &PgPool) -> Result<[u64; READ.len()], sqlx::Error> {
    let (u, c, m): (i64, i64, i64) = sqlx::query_as(
        "SELECT coalesce((SELECT position FROM rm_users.checkpoint), 0), \
                coalesce((SELECT position FROM rm_chats.checkpoint), 0), \
                coalesce((SELECT position FROM rm_messages.checkpoint), 0)",
    )
    .fetch_one(pool)
    .await?;
    Ok([u, c, m].map(|p| u64::try_from(p).unwrap_or(0)))
}

/// Middleware: honour `min_position` on every query route. Only an
/// authenticated caller may make the server wait.
pub async fn min_position(State(state): State<QueryState>, req: Request, next: Next) -> Response {
    let wanted = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("min_position="))
            .map(str::to_owned)
    });
    if let Some(raw) = wanted {
        let Ok(min) = raw.parse::<u64>() else {
            return ApiError::bad_request(
                "invalid_min_position",
                "min_position must be a non-negative integer",
            )
            .with_field("min_position")
            .into_response();
        };
        let (mut parts, body) = req.into_parts();
        if let Err(e) = AuthUser::from_request_parts(&mut parts, &state).await {
            return e.into_response();
        }
        if let Err(e) = state
            .positions
            .wait_for(&state.pool, min, state.wait_timeout)
            .await
        {
            return e.into_response();
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(req).await
}
