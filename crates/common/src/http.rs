//! The HTTP layers every service wears, in one place: a request id (the
//! client's `X-Request-Id` when it is short and well formed, else generated;
//! echoed back, put in the tracing span and in event metadata), a panic
//! catcher that answers problem+json 500 instead of dropping the connection,
//! and request tracing.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, header};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<axum::body::Body> {
    ApiError::internal(&"a request handler panicked").into_response()
}

/// What browsers are told about us (which origins may call the API from a
/// page, none unless listed; whether to insist on HTTPS), and how long a
/// client may hold the server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins allowed to call the API from a browser (`CORS_ALLOW_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (set it when served behind TLS).
    pub hsts: bool,
    /// A connection must send a request's headers this soon after it opens
    /// or goes idle, or it is closed (`HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// Longest a request may take, body included (`REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// Longest a media upload may take (`UPLOAD_TIMEOUT_SECS`).
    pub upload_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            hsts: false,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(300),
        }
    }
}

/// The paths whose requests carry large bodies (media uploads): they get
/// `upload_timeout` instead of `request_timeout`.
const UPLOAD_PATH: &str = "/v1/media";

/// Wrap a service's router in the standard layers: the request id, panics
/// as problem+json, tracing, security headers on every answer, and CORS
/// for the configured origins only.
pub fn standard_layers(router: Router, config: &HttpConfig) -> Router {
    let mut router = router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if config.hsts {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    HeaderName::from_static("idempotency-key"),
                    REQUEST_ID,
                ])
                .expose_headers([REQUEST_ID, header::RETRY_AFTER])
                .max_age(Duration::from_secs(600)),
        );
    }
    let limits = (config.request_timeout, config.upload_timeout);
    router
        .layer(axum::middleware::from_fn_with_state(limits, deadline))
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
        .layer(axum::middleware::map_request(drop_foreign_request_id))
}

/// Answer 503 `request_timeout` when a request outlives its deadline: a
/// slow body or a stuck dependency cannot hold a connection and its pool
/// slot for ever. A command cut off after its append is still durable; the
/// client's retry with the same `client_msg_id` or `Idempotency-Key` gets
/// its answer.
async fn deadline(
    axum::extract::State((request, upload)): axum::extract::State<(Duration, Duration)>,
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response<axum::body::Body> {
    let limit = if req.method() == Method::POST && req.uri().path() == UPLOAD_PATH {
        upload
    } else {
        request
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::request_timeout(limit).into_response(),
    }
}

/// The longest client request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// A request id ends up in every event's metadata, in a log that is never
/// rewritten: a client's id is kept only if it is 1–64 characters of
/// `[A-Za-z0-9._:-]`; otherwise it is dropped and one is generated.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

async fn drop_foreign_request_id<B>(mut req: Request<B>) -> Request<B> {
    if req
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|v| !acceptable_request_id(v.as_bytes()))
    {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(acceptable_request_id(b"req-42_a.b:c"));
        assert!(acceptable_request_id(&[b'a'; 64]));
        assert!(!acceptable_request_id(&[b'a'; 65]));
        assert!(!acceptable_request_id(b""));
        assert!(!acceptable_request_id(b"has space"));
        assert!(!acceptable_request_id("ünï".as_bytes()));
    }
}

/// Who is calling, as the auth routes record it for a session: the
/// client's address (the forwarded one only behind a trusted proxy) and
/// its `User-Agent`, cut to [`ClientInfo::MAX_AGENT`] characters. Put in
/// the request's extensions by the layer that resolves the address (the
/// command side's per-IP limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub const MAX_AGENT: usize = 256;

    pub fn new(ip: Option<std::net::IpAddr>, user_agent: Option<&HeaderValue>) -> ClientInfo {
        let user_agent = user_agent
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_AGENT)
                    .collect::<String>()
            })
            .filter(|s| !s.trim().is_empty());
        ClientInfo { ip, user_agent }
    }
}
