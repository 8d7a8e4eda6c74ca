//! `GET /v1/ws`: authentication at the upgrade, then a session.

use axum::extract::ws::WebSocketUpgrade;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chat_common::ApiError;
use chat_common::auth::Principal;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::{Gateway, session};

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct ExpOnly {
    exp: Option<i64>,
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

/// `Authorization: Bearer …`, else `?access_token=`.
fn token(headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| unauthorized("invalid_token", "the access token is invalid"))?;
        return match v.trim().split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Ok(t.trim().to_owned()),
            _ => Err(unauthorized(
                "invalid_token",
                "the Authorization header must use the Bearer scheme",
            )),
        };
    }
    Query::<TokenQuery>::try_from_uri(uri)
        .ok()
        .and_then(|Query(q)| q.access_token)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| unauthorized("missing_token", "an access token is required"))
}

/// When a verified token stops being valid, as a timer deadline.
pub(crate) fn deadline(token: &str) -> Option<Instant> {
    let exp = jsonwebtoken::dangerous::insecure_decode::<ExpOnly>(token)
        .ok()?
        .claims
        .exp?;
    let left = exp - OffsetDateTime::now_utc().unix_timestamp();
    let left = u64::try_from(left.max(0)).unwrap_or(0);
    Some(Instant::now() + std::time::Duration::from_secs(left))
}

pub(crate) async fn upgrade(
    State(gw): State<Gateway>,
    extensions: Extensions,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let checked: Result<(String, Principal, Option<Instant>), ApiError> =
        token(&headers, &uri).and_then(|t| gw.authenticate(&t).map(|(w, d)| (t, w, d)));
    let (token, who, deadline) = match checked {
        Ok(ok) => ok,
        Err(e) => return e.into_response(),
    };
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().copied();
    let origin = (peer, headers.get("x-forwarded-for").cloned());
    if let Err(e) = gw.admit(&who) {
        return e.into_response();
    }
    let max = gw.config().max_frame_bytes;
    // tungstenite's defaults reserve 128 KiB of read buffer per socket
    // (measured: ~134 KiB per idle socket). Chat frames are small and the
    // outgoing queue already bounds what is pending, so keep both buffers
    // small: memory per idle socket is what limits a node.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| session::run(gw, socket, who, deadline, (token, origin)))
}
