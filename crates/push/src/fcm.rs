//! Firebase Cloud Messaging, HTTP v1: the app's registration token gets a
//! data message (the same fields as a Web Push payload, as strings),
//! collapsed per chat (`android.collapse_key`, `apns-collapse-id`).
//!
//! Auth is a service account: an RS256 JWT assertion is exchanged at its
//! `token_uri` for an access token (OAuth 2.0 JWT bearer grant, RFC 7523),
//! kept until a minute before it expires. Built from Google's published
//! protocol; it cannot be reached from our build machines, so the tests
//! run a loopback server that checks what the documentation says.

use std::time::{Duration, Instant};

use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::send::{Outcome, PushClient, classify};

/// The scope FCM's send endpoint needs.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// A service account, as the JSON key file Google hands out.
#[derive(Clone, Deserialize)]
pub struct FcmConfig {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    #[serde(default = "google_token_uri")]
    pub token_uri: String,
    /// Where messages are sent (`https://fcm.googleapis.com`).
    #[serde(skip, default = "fcm_endpoint")]
    pub endpoint: String,
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

fn google_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

fn fcm_endpoint() -> String {
    "https://fcm.googleapis.com".to_owned()
}

impl FcmConfig {
    /// From a service account key file's JSON.
    pub fn from_json(json: &str) -> Result<FcmConfig, String> {
        serde_json::from_str(json).map_err(|e| format!("PUSH_FCM_CREDENTIALS: {e}"))
    }
}

/// The FCM sender, with its cached access token.
pub struct Fcm {
    config: FcmConfig,
    key: EncodingKey,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: u64,
}

impl Fcm {
    pub fn new(config: FcmConfig) -> Result<Fcm, String> {
        let key = EncodingKey::from_rsa_pem(config.private_key.as_bytes())
            .map_err(|e| format!("PUSH_FCM_CREDENTIALS private_key: {e}"))?;
        Ok(Fcm {
            config,
            key,
            token: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a fresh grant.
    async fn access_token(&self, client: &PushClient) -> Result<String, Outcome> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && *until > Instant::now() + Duration::from_secs(60)
        {
            return Ok(token.clone());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": self.config.client_email,
            "scope": SCOPE,
            "aud": self.config.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot sign the FCM assertion");
                Outcome::Refused(0)
            })?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let headers = [(
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        )];
        let answer = client
            .post(&self.config.token_uri, &headers, Bytes::from(form))
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "FCM token endpoint unreachable");
                Outcome::Retry(None)
            })?;
        if !answer.status.is_success() {
            tracing::warn!(status = %answer.status, "FCM token endpoint refused the service account");
            return Err(Outcome::Retry(answer.retry_after));
        }
        let granted: Granted = serde_json::from_slice(&answer.body).map_err(|e| {
            tracing::warn!(error = %e, "FCM token endpoint answered no token");
            Outcome::Retry(None)
        })?;
        let until = Instant::now() + Duration::from_secs(granted.expires_in);
        *cached = Some((granted.access_token.clone(), until));
        Ok(granted.access_token)
    }

    /// Send `payload` to the app behind `token`.
    pub async fn send(
        &self,
        client: &PushClient,
        token: &str,
        payload: &Value,
        topic: &str,
        urgent: bool,
    ) -> Outcome {
        let access = match self.access_token(client).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let message = json!({"message": {
            "token": token,
            "data": data(payload),
            "android": {
                "collapse_key": topic,
                "priority": if urgent { "HIGH" } else { "NORMAL" },
                "ttl": "86400s",
            },
            "apns": {"headers": {
                "apns-collapse-id": topic,
                "apns-priority": if urgent { "10" } else { "5" },
            }},
        }});
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.config.endpoint.trim_end_matches('/'),
            self.config.project_id
        );
        let headers = [
            ("Authorization", format!("Bearer {access}")),
            ("Content-Type", "application/json".to_owned()),
        ];
        match client
            .post(&url, &headers, Bytes::from(message.to_string()))
            .await
        {
            Ok(answer) if answer.status.as_u16() == 401 => {
                // The access token was revoked or expired early: a new one.
                *self.token.lock().await = None;
                Outcome::Retry(None)
            }
            Ok(answer) => classify(answer.status, answer.retry_after),
            Err(e) => {
                tracing::info!(error = %e, "FCM unreachable");
                Outcome::Retry(None)
            }
        }
    }
}

/// FCM data values are strings: strings as they are, other values as JSON,
/// nulls left out.
fn data(payload: &Value) -> Map<String, Value> {
    payload
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let s = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (k.clone(), Value::String(s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_values_are_strings_and_nulls_are_left_out() {
        let d = data(&json!({"type": "message", "badge": 3, "preview": null}));
        assert_eq!(Value::Object(d), json!({"type": "message", "badge": "3"}));
    }

    #[test]
    fn a_service_account_file_is_read_and_its_key_checked() {
        let c = FcmConfig::from_json(
            r#"{"type": "service_account", "project_id": "p", "client_email": "a@p.iam",
                "private_key": "not a key", "token_uri": "http://127.0.0.1:1/token"}"#,
        )
        .unwrap();
        assert_eq!(
            (c.project_id.as_str(), c.endpoint.as_str()),
            ("p", "https://fcm.googleapis.com")
        );
        assert!(Fcm::new(c).is_err());
        assert!(FcmConfig::from_json("{}").is_err());
    }
}
