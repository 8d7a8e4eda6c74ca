//! One request to a push service, and what its answer means for the
//! device: delivered, gone (404/410: the subscription is removed), to be
//! retried (429, 5xx, a timeout or a refused connection), or refused for
//! good (other 4xx: logged, not retried).
//!
//! The client follows no redirects, has a deadline per request, and never
//! reads more than a few KiB of an answer: an allowed push service cannot
//! make us call somewhere else or hold us.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::StatusCode;
use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::ece::{self, Receiver};
use crate::endpoint::audience;
use crate::vapid::Vapid;

/// How long a push service keeps an undelivered notification (a day).
const TTL_SECS: u32 = 86_400;
/// Most bytes of an answer read (then the connection is reused).
const MAX_ANSWER: usize = 4096;

/// A device to notify.
#[derive(Debug, Clone)]
pub struct Device {
    pub subscription_id: Uuid,
    pub user_id: Uuid,
    pub target: Target,
}

/// Where a device is reached.
#[derive(Debug, Clone)]
pub enum Target {
    /// A browser's push service (RFC 8030), its keys for RFC 8291.
    WebPush { endpoint: Url, keys: Receiver },
    /// An app's FCM registration token.
    Fcm { token: String },
    /// An iOS/macOS app's APNs device token (hex).
    Apns { token: String },
}

/// An answer from a push service (or its token endpoint).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// At most [`MAX_ANSWER`] bytes of it.
    pub body: Bytes,
}

/// What the push service's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The subscription no longer exists: remove it.
    Gone,
    /// Try again later (no sooner than the service asked, if it did).
    Retry(Option<Duration>),
    /// Refused for good (a payload or key the service will never take).
    Refused(u16),
}

/// The HTTP client for push services: hyper over rustls (ring) with the
/// OS's trust roots, HTTP/1.1 and HTTP/2, no redirects (hyper follows
/// none), a deadline on every request.
#[derive(Clone)]
pub struct PushClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl PushClient {
    /// For Web Push and FCM: HTTP/2 where the service offers it (ALPN).
    pub fn new(timeout: Duration) -> PushClient {
        PushClient::build(timeout, false)
    }

    /// For APNs, which speaks HTTP/2 only: ALPN offers `h2` alone over
    /// TLS, and a plain `http://` address (a local test server or proxy)
    /// gets HTTP/2 with prior knowledge.
    pub fn http2_only(timeout: Duration) -> PushClient {
        PushClient::build(timeout, true)
    }

    fn build(timeout: Duration, h2_only: bool) -> PushClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(b) => b,
            Err(e) => {
                // No trust store here: https push services will fail (and
                // be retried); loopback http ones still work.
                tracing::warn!(error = %e, "no TLS roots for push services");
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
            }
        };
        let https = if h2_only {
            builder.https_or_http().enable_http2().wrap_connector(http)
        } else {
            builder
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .wrap_connector(http)
        };
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .http2_only(h2_only)
            .build(https);
        PushClient { inner, timeout }
    }

    /// POST `body` to `url` with `headers`, within the deadline; the
    /// answer's first [`MAX_ANSWER`] bytes. `Err` when there was no answer
    /// (unreachable, refused, timed out): always worth a retry.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut request = hyper::Request::post(url).header(
            "User-Agent",
            concat!("chat-push/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        match tokio::time::timeout(self.timeout, self.inner.request(request)).await {
            Ok(Ok(res)) => {
                let status = res.status();
                let retry_after = res.headers().get(RETRY_AFTER).and_then(seconds);
                let read = Limited::new(res.into_body(), MAX_ANSWER).collect();
                let body = match tokio::time::timeout(self.timeout, read).await {
                    Ok(Ok(collected)) => collected.to_bytes(),
                    _ => Bytes::new(),
                };
                Ok(Answer {
                    status,
                    retry_after,
                    body,
                })
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }
}

/// Send `payload` (JSON) to one Web Push device. `topic` collapses
/// undelivered notifications of one chat at the push service.
pub async fn webpush(
    client: &PushClient,
    vapid: &Vapid,
    endpoint: &Url,
    keys: &Receiver,
    payload: &[u8],
    topic: &str,
    urgent: bool,
) -> Outcome {
    let body = match ece::encrypt(keys, payload) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "push payload too large");
            return Outcome::Refused(413);
        }
    };
    let auth = vapid.authorization(&audience(endpoint), OffsetDateTime::now_utc());
    let headers = [
        ("TTL", TTL_SECS.to_string()),
        ("Content-Encoding", "aes128gcm".to_owned()),
        ("Content-Type", "application/octet-stream".to_owned()),
        ("Topic", topic.to_owned()),
        ("Urgency", if urgent { "high" } else { "normal" }.to_owned()),
        ("Authorization", auth),
    ];
    match client
        .post(endpoint.as_str(), &headers, Bytes::from(body))
        .await
    {
        Ok(answer) => classify(answer.status, answer.retry_after),
        Err(e) => {
            tracing::info!(error = %e, "push service unreachable");
            Outcome::Retry(None)
        }
    }
}

pub(crate) fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry(retry_after),
        other => Outcome::Refused(other),
    }
}

fn seconds(v: &HeaderValue) -> Option<Duration> {
    v.to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_the_push_services_document_them() {
        assert_eq!(classify(StatusCode::CREATED, None), Outcome::Delivered);
        assert_eq!(classify(StatusCode::GONE, None), Outcome::Gone);
        assert_eq!(classify(StatusCode::NOT_FOUND, None), Outcome::Gone);
        let wait = Some(Duration::from_secs(7));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, wait),
            Outcome::Retry(wait)
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None),
            Outcome::Retry(None)
        );
        assert_eq!(classify(StatusCode::FORBIDDEN, None), Outcome::Refused(403));
        // A redirect is not followed, nor taken as delivered.
        assert_eq!(classify(StatusCode::FOUND, None), Outcome::Refused(302));
    }
}
