//! `/v1/audit/*`: for callers with the `auditor` role only (403 otherwise).

use chat_common::ApiQuery;
use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chat_common::ApiError;
use chat_common::auth::{AuthUser, ROLE_AUDITOR, Verifier};
use chat_store::{Direction, EventStore};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{At, Store, state_json};

const MAX_LIMIT: usize = 1_000;

#[derive(Clone)]
pub struct AuditState {
    pub store: Store,
    pub verifier: Arc<Verifier>,
}

impl FromRef<AuditState> for Arc<Verifier> {
    fn from_ref(s: &AuditState) -> Self {
        s.verifier.clone()
    }
}

pub fn router(state: AuditState) -> Router {
    Router::new()
        .route("/v1/audit/events", get(events))
        .route("/v1/audit/streams/{stream}", get(stream))
        .route("/v1/audit/streams/{stream}/verify", get(verify))
        .route("/v1/audit/chats/{chat_id}/state", get(chat_state))
        .with_state(state)
}

fn require_auditor(user: &AuthUser) -> Result<(), ApiError> {
    if user.0.has_role(ROLE_AUDITOR) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "auditor_role_required",
            "this route is for callers with the auditor role",
        ))
    }
}

fn store_err(e: chat_store::StoreError) -> ApiError {
    ApiError::unavailable(&e)
}

fn limit(l: Option<usize>) -> usize {
    l.unwrap_or(100).clamp(1, MAX_LIMIT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    from_position: Option<u64>,
    limit: Option<usize>,
}

/// The global log after `from_position` (exclusive), full envelopes.
async fn events(
    State(s): State<AuditState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    require_auditor(&user)?;
    let n = limit(q.limit);
    let items = s
        .store
        .read_all(q.from_position.unwrap_or(0), n)
        .await
        .map_err(store_err)?;
    let next = (items.len() == n)
        .then(|| items.last().map(|e| e.position.to_string()))
        .flatten();
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    from_version: Option<u64>,
    limit: Option<usize>,
}

async fn stream(
    State(s): State<AuditState>,
    user: AuthUser,
    Path(stream): Path<String>,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Json<Value>, ApiError> {
    require_auditor(&user)?;
    let n = limit(q.limit);
    let from = q.from_version.unwrap_or(1).max(1);
    let items = s
        .store
        .read_stream(&stream, from, Direction::Forward, n)
        .await
        .map_err(store_err)?;
    if items.is_empty() && from == 1 {
        return Err(ApiError::not_found(
            "stream_not_found",
            format!("no stream {stream}"),
        ));
    }
    let next = (items.len() == n)
        .then(|| items.last().map(|e| (e.version + 1).to_string()))
        .flatten();
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

async fn verify(
    State(s): State<AuditState>,
    user: AuthUser,
    Path(stream): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_auditor(&user)?;
    let report = s.store.verify_stream(&stream).await.map_err(store_err)?;
    if report.events == 0 {
        return Err(ApiError::not_found(
            "stream_not_found",
            format!("no stream {stream}"),
        ));
    }
    Ok(Json(json!(report)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    at_version: Option<u64>,
    at_time: Option<String>,
}

async fn chat_state(
    State(s): State<AuditState>,
    user: AuthUser,
    Path(chat_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<Value>, ApiError> {
    require_auditor(&user)?;
    let at = match (q.at_version, q.at_time) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give at_version or at_time, not both",
            ));
        }
        (Some(v), None) => At::Version(v),
        (None, Some(t)) => t
            .parse::<At>()
            .ok()
            .filter(|a| matches!(a, At::Time(_)))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_query", "at_time must be RFC 3339")
                    .with_field("at_time")
            })?,
        (None, None) => At::Latest,
    };
    let stream = chat_domain::chat_stream(chat_id);
    let state = state_json(s.store.as_ref(), &stream, at)
        .await
        .map_err(store_err)?;
    match state {
        Some(v) if v["version"] != 0 => Ok(Json(v)),
        _ => Err(ApiError::not_found(
            "chat_not_found",
            format!("no chat {chat_id} at that point"),
        )),
    }
}
