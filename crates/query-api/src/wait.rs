//! Read-your-writes: `?min_position=n` waits until every queried read
//! model's checkpoint has reached `n`, through the read-model contract's
//! one watch per process (`chat_common::read_models`); waiting requests
//! only watch it.
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
use chat_common::read_models::{self, CheckpointWatch};
use sqlx::PgPool;

use crate::QueryState;

/// The slowest queried read model's position, kept by one watch per
/// process (the read-model contract's [`CheckpointWatch`]): a request that
/// waits only watches it, and costs no query while it waits.
#[derive(Clone)]
pub struct Positions {
    watch: CheckpointWatch,
}

impl Positions {
    pub fn start(pool: PgPool) -> Positions {
        Positions {
            watch: CheckpointWatch::spawn(pool, &read_models::QUERIED),
        }
    }

    /// Wait until every queried read model has reached `min`, or `timeout`
    /// passes. A position past the log's head can never be reached: 400 at
    /// once.
    pub async fn wait_for(
        &self,
        pool: &PgPool,
        min: u64,
        timeout: Duration,
    ) -> Result<(), ApiError> {
        if self.watch.position() >= min {
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
        self.watch.wait_for(min, timeout).await.map_err(|t| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "projection_lagging",
                format!(
                    "the read models are at position {}, not yet {min}; retry",
                    t.reached
                ),
            )
            .with_retry_after(1)
        })
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
