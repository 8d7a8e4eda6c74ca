//! Operational routes: `/healthz` (the process is alive), `/readyz` (its
//! dependencies answer) and `/openapi.json` (the OpenAPI 3.1 document of
//! every route the app serves, these included).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::header;
use axum::response::IntoResponse;
use chat_common::ApiError;
use chat_common::openapi::utoipa::openapi::OpenApi;
use chat_common::openapi::utoipa::{self, ToSchema};
use chat_common::openapi::utoipa_axum::router::OpenApiRouter;
use chat_common::openapi::{self as api_doc, utoipa_axum};
use serde::Serialize;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operational routes and their document (without state: the router
/// needs the app's whole document, see [`router`]).
pub fn documented_routes() -> OpenApiRouter<OpsState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// The operational routes, serving `api` (every other route's document)
/// merged with their own as `/openapi.json`.
pub fn router(state: AppState, api: OpenApi) -> anyhow::Result<axum::Router> {
    let (router, ops) = documented_routes().split_for_parts();
    let doc = document(api, ops);
    let openapi = Bytes::from(serde_json::to_vec(&doc)?);
    Ok(router.with_state(OpsState {
        app: state,
        openapi,
    }))
}

/// The app's document: the other routes' `api` and the operational `ops`.
pub fn document(mut api: OpenApi, ops: OpenApi) -> OpenApi {
    api.merge(ops);
    api.info.title = "chat".to_owned();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api_doc::problem_responses(&mut api);
    api
}

/// The operational routes' state: the app's, and the rendered document.
#[derive(Clone)]
pub struct OpsState {
    app: AppState,
    openapi: Bytes,
}

impl FromRef<OpsState> for AppState {
    fn from_ref(s: &OpsState) -> AppState {
        s.app.clone()
    }
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready` (otherwise the answer is a 503 problem).
    pub status: String,
    pub checks: ReadyChecks,
    pub event_store: EventStoreHead,
    /// The read models this process projects (and the Kafka publisher), with their lag.
    pub projections: Vec<ProjectionLag>,
    /// The WebSocket gateway of this process, if it runs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayStatus>,
}

#[derive(Serialize, ToSchema)]
pub struct GatewayStatus {
    /// The newest global position this node's tail has routed to sockets.
    pub position: u64,
    /// Events between the head of the log and `position`.
    pub lag_events: u64,
    /// Open WebSocket connections on this node.
    pub connections: usize,
}

fn gateway_status(state: &AppState, head: u64) -> Option<GatewayStatus> {
    state.gateway.as_ref().map(|g| {
        let position = g.position();
        GatewayStatus {
            position,
            lag_events: head.saturating_sub(position),
            connections: g.connections(),
        }
    })
}

#[derive(Serialize, ToSchema)]
pub struct ProjectionLag {
    pub name: String,
    /// The last global position applied.
    pub position: u64,
    /// Events between the head of the log and `position`.
    pub lag_events: u64,
    /// Seconds between now and the last applied event (0 when caught up).
    pub lag_seconds: f64,
    /// Whether this process holds the projection's lease.
    pub leader: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn lags(state: &AppState, head: u64) -> Vec<ProjectionLag> {
    [&state.projector, &state.publisher]
        .into_iter()
        .flatten()
        .flat_map(|p| p.status())
        .map(|s| ProjectionLag {
            name: s.name.to_owned(),
            position: s.position,
            lag_events: s.lag(head),
            lag_seconds: s.lag_seconds(head),
            leader: s.leader,
            last_error: s.last_error.clone(),
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok`
    pub postgres: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventStoreHead {
    /// The global position of the newest event.
    pub head_position: u64,
}

/// The process is alive.
#[utoipa::path(
    get, path = "/healthz", tag = "ops", operation_id = "healthz",
    responses((status = 200, description = "Alive", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The dependencies answer.
#[utoipa::path(
    get, path = "/readyz", tag = "ops", operation_id = "readyz",
    responses((status = 200, description = "Ready", body = Ready)),
    extensions(("x-error-codes" = json!(["service_unavailable"]))),
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    let head = tokio::time::timeout(Duration::from_secs(2), state.event_store.head_position())
        .await
        .map_err(|_| ApiError::unavailable(&"event store did not answer within 2s"))?
        .map_err(|e| ApiError::unavailable(&e))?;
    Ok(Json(Ready {
        status: "ready".to_owned(),
        checks: ReadyChecks {
            postgres: "ok".to_owned(),
        },
        event_store: EventStoreHead {
            head_position: head,
        },
        projections: lags(&state, head),
        gateway: gateway_status(&state, head),
    }))
}

/// A metric name, its help text and how to read it off a projection.
type Gauge = (&'static str, &'static str, fn(&ProjectionLag) -> f64);

/// Prometheus text: the log's head, and per projection its position, lag
/// (events and seconds) and leadership.
#[utoipa::path(
    get, path = "/metrics", tag = "ops", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")),
    extensions(("x-error-codes" = json!(["service_unavailable"]))),
)]
async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    use std::fmt::Write;
    let head = state
        .event_store
        .head_position()
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP chat_event_store_head_position Global position of the newest event."
    );
    let _ = writeln!(out, "# TYPE chat_event_store_head_position gauge");
    let _ = writeln!(out, "chat_event_store_head_position {head}");
    let gauges: [Gauge; 4] = [
        (
            "chat_projection_position",
            "Last global position applied.",
            |l| l.position as f64,
        ),
        (
            "chat_projection_lag_events",
            "Events not yet applied.",
            |l| l.lag_events as f64,
        ),
        (
            "chat_projection_lag_seconds",
            "Age of the last applied event when behind.",
            |l| l.lag_seconds,
        ),
        (
            "chat_projection_leader",
            "1 if this process holds the projection's lease.",
            |l| f64::from(u8::from(l.leader)),
        ),
    ];
    let lags = lags(&state, head);
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for l in &lags {
            let _ = writeln!(out, "{name}{{projection=\"{}\"}} {}", l.name, value(l));
        }
    }
    if let Some(g) = gateway_status(&state, head) {
        let gauges = [
            (
                "chat_gateway_position",
                "Newest position routed to sockets.",
                g.position as f64,
            ),
            (
                "chat_gateway_lag_events",
                "Events not yet routed to sockets.",
                g.lag_events as f64,
            ),
            (
                "chat_gateway_connections",
                "Open WebSocket connections.",
                g.connections as f64,
            ),
            (
                "chat_gateway_signals_dropped",
                "Typing and presence signals dropped because the node's queue was full (a counter).",
                chat_gateway::signals::DROPPED.load(std::sync::atomic::Ordering::Relaxed) as f64,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// This document: OpenAPI 3.1 of every route the server exposes.
#[utoipa::path(
    get, path = "/openapi.json", tag = "ops", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
)]
async fn openapi_json(State(state): State<OpsState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi)
}
