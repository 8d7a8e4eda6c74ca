//! The command side's router: auth routes behind a per-IP rate limit,
//! command routes behind the message rate limit and the idempotency layer,
//! and a JSON body limit on everything.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRef, FromRequestParts, MatchedPath, Request, State,
};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_common::auth::AuthUser;
use chat_common::http::ClientInfo;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::idempotency::{StoredResponse, fingerprint};
use crate::pipeline::context::IDEMPOTENCY_KEY;
use crate::{CommandState, openapi, routes};

/// Every route of the command side, with its state.
pub fn router(state: CommandState) -> Router {
    router_with_openapi(state).0
}

/// Every route of the command side, and its OpenAPI document, both built
/// from the same handler lists.
pub fn router_with_openapi(state: CommandState) -> (Router, OpenApi) {
    let (auth_routes, commands) = documented_routes::<CommandState>();
    let auth_routes = auth_routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth_rate_limit,
        ))
        .layer(middleware::map_response(no_store));
    let guard = Guard {
        state: state.clone(),
        declared: Arc::new(declared(commands.get_openapi())),
    };
    let commands = commands.layer(middleware::from_fn_with_state(guard, command_guard));
    let (router, mut doc) = OpenApiRouter::with_openapi(chat_common::openapi::base())
        .merge(auth_routes)
        .merge(commands)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
        .split_for_parts();
    chat_common::openapi::problem_responses(&mut doc);
    (router, doc)
}

/// The command side's document alone (no state needed): the auth and
/// command routes with their conventions and problem responses.
pub fn document() -> OpenApi {
    let (auth, commands) = documented_routes::<CommandState>();
    let mut doc = OpenApiRouter::with_openapi(chat_common::openapi::base())
        .merge(auth)
        .merge(commands)
        .into_openapi();
    chat_common::openapi::problem_responses(&mut doc);
    doc
}

/// The auth routes and the command routes, each with the conventions its
/// layer brings ([`auth_rate_limit`], [`command_guard`]) in its document.
pub(crate) fn documented_routes<S>() -> (OpenApiRouter<S>, OpenApiRouter<S>)
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
    Arc<chat_auth::AuthService>: FromRef<S>,
    Arc<chat_common::auth::Verifier>: FromRef<S>,
{
    let mut auth_routes = chat_auth::routes::<S>();
    chat_auth::auth_conventions(auth_routes.get_openapi_mut());
    let mut commands = routes::commands::<S>();
    openapi::command_conventions(commands.get_openapi_mut());
    (auth_routes, commands)
}

/// Auth endpoints are limited per client IP (password guessing, sign-up
/// floods). Without connection info (tests driving the router directly) the
/// bucket is shared.
async fn auth_rate_limit(
    State(state): State<CommandState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = state.limiter.client_ip(peer, forwarded);
    if let Err(e) = state.limiter.check_auth(ip).await {
        return e.into_response();
    }
    // The sessions a login opens record where it came from.
    let known = req.extensions().get::<ConnectInfo<SocketAddr>>().is_some();
    let client = ClientInfo::new(known.then_some(ip), req.headers().get(header::USER_AGENT));
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// The command guard's state: the command side, and the (method, route)
/// pairs it guards, read off the routes' own document.
#[derive(Clone)]
struct Guard {
    state: CommandState,
    declared: Arc<HashSet<(Method, String)>>,
}

/// Every (method, route) an OpenAPI document declares. Paths keep their
/// `{param}` form, which is also how axum names a matched route.
fn declared(doc: &OpenApi) -> HashSet<(Method, String)> {
    let mut out = HashSet::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::DELETE, item.delete.is_some()),
            (Method::PATCH, item.patch.is_some()),
        ];
        for (method, present) in methods {
            if present {
                out.insert((method, path.clone()));
            }
        }
    }
    out
}

/// Answers that carry tokens must not be kept by any cache on the way.
async fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

/// In front of every command: authentication, the per-user rate limits
/// (outside the idempotency layer, so a 429 is never stored as a command's
/// answer), then `Idempotency-Key` handling.
async fn command_guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    // A method the matched route does not have is the router's 405, never
    // a command (nor the idempotent replay of one).
    let declared = req.extensions().get::<MatchedPath>().is_some_and(|m| {
        guard
            .declared
            .contains(&(req.method().clone(), m.as_str().to_owned()))
    });
    if !declared {
        return next.run(req).await;
    }
    match guarded(guard.state, req, next).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn guarded(state: CommandState, req: Request, next: Next) -> Result<Response, ApiError> {
    // The send route declares its class (`routes::SEND_MESSAGE`); the path
    // is the route's as matched, not the request's.
    let is_send = req.method() == Method::POST
        && req
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|m| m.as_str() == routes::SEND_MESSAGE);
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|v| v.to_str().map(str::to_owned));
    let (mut parts, body) = req.into_parts();
    let AuthUser(principal) = AuthUser::from_request_parts(&mut parts, &state).await?;
    // Sends have their own (tighter) bucket; every other command shares one,
    // so no command is free to flood (reaction toggles, edits, pins).
    if is_send {
        state.limiter.check_messages(principal.user_id).await?;
    } else {
        state.limiter.check_commands(principal.user_id).await?;
    }
    let Some(key) = key else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let key = key.map_err(|_| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be printable ASCII",
        )
        .with_field("Idempotency-Key")
    })?;
    let bytes = to_bytes(body, state.max_body_bytes).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is too large",
        )
    })?;
    let path = parts
        .uri
        .path_and_query()
        .map_or("", |p| p.as_str())
        .to_owned();
    let if_match = parts.headers.get("if-match").map(|v| v.as_bytes());
    let fp = fingerprint(parts.method.as_str(), &path, if_match, &bytes);
    let req = Request::from_parts(parts, Body::from(bytes));
    // Run in a task of its own: if the client goes away mid-command, the
    // command still finishes and its answer is still stored, so the retry
    // gets the replay instead of running it again.
    let idempotency = state.idempotency.clone();
    let actor = principal.user_id;
    let (stored, replayed) = tokio::spawn(async move {
        idempotency
            .run(actor, &key, fp, || async move {
                capture(next.run(req).await).await
            })
            .await
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(stored.into_response(replayed))
}

/// Buffer a response so it can be stored and replayed byte for byte.
async fn capture(res: Response) -> StoredResponse {
    let (parts, body) = res.into_parts();
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let retry_after = parts
        .headers
        .get(axum::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match to_bytes(body, usize::MAX).await {
        Ok(bytes) => StoredResponse {
            status: parts.status.as_u16(),
            body: bytes.to_vec(),
            content_type,
            retry_after,
        },
        Err(e) => {
            let err = ApiError::internal(&e);
            StoredResponse {
                status: err.status.as_u16(),
                body: serde_json::to_vec(&err.problem()).unwrap_or_default(),
                content_type: chat_common::problem::PROBLEM_JSON.to_owned(),
                retry_after: None,
            }
        }
    }
}
