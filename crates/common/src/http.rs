//! The HTTP layers every service wears, in one place: a request id (taken
//! from `X-Request-Id` or generated, echoed back, and put in the tracing
//! span), a panic catcher that answers problem+json 500 instead of dropping
//! the connection, and request tracing.

use axum::Router;
use axum::http::{HeaderName, Request, Response};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<axum::body::Body> {
    ApiError::internal(&"a request handler panicked").into_response()
}

/// Wrap a service's router in the standard layers.
pub fn standard_layers(router: Router) -> Router {
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
