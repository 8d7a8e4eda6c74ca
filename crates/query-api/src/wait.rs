//! Read-your-writes: `?min_position=n` waits until every projection's
//! checkpoint has reached `n`, woken by the projector's NOTIFY on
//! `chat_projections` and by polling (a missed notification only delays).
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
const POLL: Duration = Duration::from_millis(50);

/// The slowest projection's checkpoint (0 if a projection has none yet).
pub async fn projected(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let (p,): (i64,) = sqlx::query_as(
        "SELECT least(coalesce((SELECT position FROM rm_users.checkpoint), 0), \
                      coalesce((SELECT position FROM rm_chats.checkpoint), 0), \
                      coalesce((SELECT position FROM rm_messages.checkpoint), 0))",
    )
    .fetch_one(pool)
    .await?;
    Ok(p as u64)
}

/// A wake-up signal fed by one LISTEN connection per process.
#[derive(Clone)]
pub struct Positions {
    wake: watch::Receiver<u64>,
}

impl Positions {
    pub fn start(pool: PgPool) -> Positions {
        let (tx, rx) = watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                let listener = async {
                    let mut l = PgListener::connect_with(&pool).await?;
                    l.listen(CHANNEL).await?;
                    Ok::<_, sqlx::Error>(l)
                };
                let mut l = tokio::select! {
                    l = listener => match l {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot LISTEN for projections; polling only");
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                                _ = tx.closed() => return,
                            }
                        }
                    },
                    _ = tx.closed() => return,
                };
                loop {
                    tokio::select! {
                        n = l.recv() => match n {
                            Ok(_) => tx.send_modify(|v| *v += 1),
                            Err(_) => break,
                        },
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Positions { wake: rx }
    }

    /// Wait until every projection has reached `min`, or `timeout` passes.
    pub async fn wait_for(
        &self,
        pool: &PgPool,
        min: u64,
        timeout: Duration,
    ) -> Result<(), ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut wake = self.wake.clone();
        loop {
            wake.borrow_and_update();
            let at = projected(pool)
                .await
                .map_err(|e| ApiError::unavailable(&e))?;
            if at >= min {
                return Ok(());
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "projection_lagging",
                    format!("the read models are at position {at}, not yet {min}; retry"),
                )
                .with_retry_after(1));
            }
            let _ = tokio::time::timeout(remaining.min(POLL), wake.changed()).await;
        }
    }
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
