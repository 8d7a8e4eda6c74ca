//! Apple Push Notification service, HTTP/2 provider API with token-based
//! auth: each device token gets an alert worded by the domain (the same
//! words a browser shows), the badge, a thread per chat, and
//! `apns-collapse-id` so a burst replaces the chat's last notification.
//!
//! Auth is the team's signing key (`.p8`, P-256): an ES256 JWT with `kid`
//! and `iss`/`iat`, reused for 40 minutes (Apple refuses one older than an
//! hour and throttles ones renewed more often than every 20 minutes).
//! Built from Apple's published protocol; it cannot be reached from our
//! build machines, so the tests run a loopback HTTP/2 server that checks
//! what the documentation says.

use std::time::{Duration, Instant};

use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::send::{Answer, Outcome, PushClient};

/// Apple's production gateway; development builds' tokens need
/// `https://api.sandbox.push.apple.com`.
pub const PRODUCTION: &str = "https://api.push.apple.com";
/// How long a provider token is used before a new one is signed.
const TOKEN_LIFE: Duration = Duration::from_secs(40 * 60);
/// How long APNs keeps a notification for a device that is off (a day).
const EXPIRY_SECS: i64 = 86_400;
/// The payload fields that are not the alert's: what an app (or its
/// notification service extension) needs to open the chat.
const CUSTOM: [&str; 6] = ["type", "chat_id", "message_id", "seq", "count", "sender_id"];

/// The team's signing key and where its notifications go.
#[derive(Clone)]
pub struct ApnsConfig {
    /// The `.p8` file's PEM (PKCS#8, P-256).
    pub key_pem: String,
    /// The key's id (`kid`).
    pub key_id: String,
    /// The developer team's id (`iss`).
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// [`PRODUCTION`], the sandbox, or a test double.
    pub endpoint: String,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The APNs sender, with its HTTP/2 client and current provider token.
pub struct Apns {
    config: ApnsConfig,
    key: EncodingKey,
    client: PushClient,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Reason {
    reason: String,
}

impl Apns {
    pub fn new(config: ApnsConfig, timeout: Duration) -> Result<Apns, String> {
        let key = EncodingKey::from_ec_pem(config.key_pem.as_bytes())
            .map_err(|e| format!("PUSH_APNS_KEY: not a P-256 .p8 key: {e}"))?;
        if config.key_id.is_empty() || config.team_id.is_empty() || config.topic.is_empty() {
            return Err(
                "PUSH_APNS_KEY_ID, PUSH_APNS_TEAM_ID and PUSH_APNS_TOPIC are needed".into(),
            );
        }
        Ok(Apns {
            config,
            key,
            client: PushClient::http2_only(timeout),
            token: Mutex::new(None),
        })
    }

    /// The provider token: the current one, or a newly signed one when it
    /// is old or APNs said it expired (`renew`).
    async fn provider_token(&self, renew: bool) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some((token, at)) = cached.as_ref()
            && !renew
            && at.elapsed() < TOKEN_LIFE
        {
            return Ok(token.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.config.key_id.clone());
        let claims = json!({
            "iss": self.config.team_id,
            "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
        });
        let token = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// Send the notification `payload` to the device `token`.
    pub async fn send(&self, token: &str, payload: &Value, topic: &str, urgent: bool) -> Outcome {
        let body = Bytes::from(notification(payload).to_string());
        let mut renew = false;
        loop {
            let answer = match self.post(token, body.clone(), topic, urgent, renew).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::info!(error = %e, "APNs unreachable");
                    return Outcome::Retry(None);
                }
            };
            let reason = serde_json::from_slice::<Reason>(&answer.body)
                .map(|r| r.reason)
                .unwrap_or_default();
            // An expired provider token is signed anew and the request
            // made once more, rather than waiting for a back-off.
            if answer.status.as_u16() == 403 && reason == "ExpiredProviderToken" && !renew {
                renew = true;
                continue;
            }
            let outcome = classify(&answer, &reason);
            if let Outcome::Refused(status) = outcome {
                tracing::warn!(status, reason, "APNs refused a notification");
            }
            return outcome;
        }
    }

    async fn post(
        &self,
        token: &str,
        body: Bytes,
        topic: &str,
        urgent: bool,
        renew: bool,
    ) -> Result<Answer, String> {
        let jwt = self.provider_token(renew).await?;
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + EXPIRY_SECS;
        let headers = [
            ("authorization", format!("bearer {jwt}")),
            ("apns-topic", self.config.topic.clone()),
            ("apns-push-type", "alert".to_owned()),
            ("apns-priority", if urgent { "10" } else { "5" }.to_owned()),
            ("apns-expiration", expires.to_string()),
            ("apns-collapse-id", topic.to_owned()),
            ("content-type", "application/json".to_owned()),
        ];
        // The token is hex (checked when it was registered), so it cannot
        // change the path.
        let url = format!(
            "{}/3/device/{token}",
            self.config.endpoint.trim_end_matches('/')
        );
        self.client.post(&url, &headers, body).await
    }
}

/// The APNs body: the alert, badge and thread under `aps`, and the fields
/// an app needs to open the chat beside it. `mutable-content` lets an app's
/// notification service extension reword it.
fn notification(payload: &Value) -> Value {
    let custom: Map<String, Value> = CUSTOM
        .iter()
        .filter_map(|k| {
            let v = payload.get(*k)?;
            (!v.is_null()).then(|| ((*k).to_owned(), v.clone()))
        })
        .collect();
    let mut n = json!({"aps": {
        "alert": {"title": payload["title"], "body": payload["body"]},
        "badge": payload["badge"],
        "sound": "default",
        "thread-id": payload["chat_id"],
        "mutable-content": 1,
    }});
    n.as_object_mut().expect("an object").extend(custom);
    n
}

/// What APNs' answer means for the device (Apple's table of status codes
/// and reasons): a token that is unregistered, malformed or for another
/// app is removed; a path or request APNs calls bad is not the device's
/// fault, so it stays.
fn classify(answer: &Answer, reason: &str) -> Outcome {
    match (answer.status.as_u16(), reason) {
        (200, _) => Outcome::Delivered,
        (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => Outcome::Gone,
        (429 | 500..=599, _) | (403, "ExpiredProviderToken") => Outcome::Retry(answer.retry_after),
        (status, _) => Outcome::Refused(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    fn answer(status: u16) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            body: Bytes::new(),
        }
    }

    #[test]
    fn answers_are_classified_as_apple_documents_them() {
        assert_eq!(classify(&answer(200), ""), Outcome::Delivered);
        assert_eq!(classify(&answer(410), "Unregistered"), Outcome::Gone);
        assert_eq!(classify(&answer(400), "BadDeviceToken"), Outcome::Gone);
        assert_eq!(
            classify(&answer(400), "DeviceTokenNotForTopic"),
            Outcome::Gone
        );
        assert_eq!(classify(&answer(400), "BadTopic"), Outcome::Refused(400));
        // Unlike Web Push, a 404 is a bad path, not a gone device.
        assert_eq!(classify(&answer(404), "BadPath"), Outcome::Refused(404));
        assert_eq!(
            classify(&answer(429), "TooManyRequests"),
            Outcome::Retry(None)
        );
        assert_eq!(classify(&answer(503), "Shutdown"), Outcome::Retry(None));
        assert_eq!(
            classify(&answer(403), "InvalidProviderToken"),
            Outcome::Refused(403)
        );
    }

    #[test]
    fn the_alert_goes_under_aps_and_nulls_stay_out() {
        let n = notification(&json!({
            "type": "message", "chat_id": "c", "chat_title": null, "message_id": "m",
            "seq": 4, "count": 2, "sender_id": null, "sender_name": null, "preview": null,
            "badge": 3, "title": "New message", "body": "2 new messages",
        }));
        assert_eq!(
            n,
            json!({
                "aps": {"alert": {"title": "New message", "body": "2 new messages"}, "badge": 3,
                        "sound": "default", "thread-id": "c", "mutable-content": 1},
                "type": "message", "chat_id": "c", "message_id": "m", "seq": 4, "count": 2,
            })
        );
    }
}
