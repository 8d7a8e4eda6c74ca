//! A socket's commands (Socket.IO's client actions, `/v1/ws` delivery
//! acks): each one is a request to the command side's own router, in
//! process, with the socket's token, the client's address and a request
//! id. The command pipeline is not re-implemented by any transport: the
//! rules, idempotency, rate limits and problem codes are the HTTP API's,
//! by construction.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, header};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// The largest command answer read back (answers are small JSON).
const MAX_ANSWER: usize = 64 * 1024;

/// A refused command, as seed 001's `error {message, code}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl Problem {
    pub fn new(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            code: code.to_owned(),
            message: message.into(),
            status: 400,
        }
    }
}

/// One socket's way into the command side.
#[derive(Clone)]
pub struct Commands {
    router: Router,
    /// Renewed by the client's `auth` event.
    token: Arc<Mutex<String>>,
    peer: Option<ConnectInfo<SocketAddr>>,
    forwarded_for: Option<HeaderValue>,
    /// Prefix of the request ids, naming the transport in the logs.
    origin: &'static str,
}

impl Commands {
    pub fn new(
        origin: &'static str,
        router: Router,
        token: String,
        peer: Option<ConnectInfo<SocketAddr>>,
        forwarded_for: Option<HeaderValue>,
    ) -> Commands {
        Commands {
            router,
            token: Arc::new(Mutex::new(token)),
            peer,
            forwarded_for,
            origin,
        }
    }

    pub fn renew(&self, token: &str) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = token.to_owned();
    }

    fn bearer(&self) -> String {
        let token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        format!("Bearer {token}")
    }

    /// Run one command: its answer's JSON, or its problem.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Problem> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, self.bearer())
            .header(
                "x-request-id",
                format!("{}-{}", self.origin, Uuid::new_v4().simple()),
            );
        if let Some(ip) = &self.forwarded_for {
            req = req.header("x-forwarded-for", ip.clone());
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req
            .body(body)
            .map_err(|e| Problem::new("invalid_body", e.to_string()))?;
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(peer);
        }
        let res = match self.router.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER)
            .await
            .map_err(|e| Problem::new("internal", e.to_string()))?;
        let json: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(json);
        }
        Err(Problem {
            code: json
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("internal")
                .to_owned(),
            message: json
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or("the command failed")
                .to_owned(),
            status: status.as_u16(),
        })
    }
}

/// A path segment, percent-encoded (emoji reactions go in the path).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("👍"), "%F0%9F%91%8D");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("ok-1._~"), "ok-1._~");
    }
}
