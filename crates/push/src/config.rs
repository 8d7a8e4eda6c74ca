//! The push side's settings, as CLI flags and environment variables
//! ([`PushArgs`]) for `chat serve`.

use std::time::Duration;

use chat_common::config::Secret;
use clap::Args;

use crate::apns::{self, ApnsConfig};
use crate::fcm::FcmConfig;

/// The push services of the major browsers (Chrome/Edge through FCM,
/// Firefox, Safari): a subscription's endpoint must start with one of
/// these unless `PUSH_ENDPOINT_ALLOW` says otherwise.
pub const BROWSER_PUSH_SERVICES: [&str; 4] = [
    "https://fcm.googleapis.com/",
    "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/",
    "https://push.services.mozilla.com/",
];

/// Everything the push routes and the notifier need.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Endpoint prefixes the server may call (no user-chosen addresses).
    pub endpoint_allow: Vec<String>,
    /// The VAPID key; generated and kept in the database when unset.
    pub vapid_private_key: Option<Secret>,
    /// The VAPID `sub` claim: how a push service reaches the operator.
    pub vapid_subject: String,
    /// How long a message waits before it is pushed: covers a reconnect
    /// and collapses a burst into one notification per device.
    pub delay: Duration,
    /// Per request to a push service (connect and answer).
    pub timeout: Duration,
    /// How many requests to push services are in flight at once.
    pub concurrency: usize,
    /// FCM (HTTP v1) for app tokens; `None`: `kind: "fcm"` is refused.
    pub fcm: Option<FcmConfig>,
    /// APNs (HTTP/2, token auth) for iOS/macOS apps; `None`: `kind:
    /// "apns"` is refused.
    pub apns: Option<ApnsConfig>,
}

impl PushConfig {
    /// Defaults with the given endpoint prefixes (tests: a loopback receiver).
    pub fn with_endpoints(endpoint_allow: Vec<String>) -> PushConfig {
        PushConfig {
            endpoint_allow,
            vapid_private_key: None,
            vapid_subject: "mailto:push@localhost".to_owned(),
            delay: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            concurrency: 64,
            fcm: None,
            apns: None,
        }
    }
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig::with_endpoints(
            BROWSER_PUSH_SERVICES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Comma-separated URL prefixes a Web Push endpoint must start with
    /// (default: the major browsers' push services over https).
    #[arg(long, env = "PUSH_ENDPOINT_ALLOW", value_delimiter = ',')]
    pub push_endpoint_allow: Option<Vec<String>>,
    /// VAPID private key (base64url P-256 scalar); generated and kept in
    /// the database when unset.
    #[arg(long, env = "PUSH_VAPID_PRIVATE_KEY")]
    pub push_vapid_private_key: Option<Secret>,
    /// VAPID contact (`mailto:` or `https:` URL).
    #[arg(
        long,
        env = "PUSH_VAPID_SUBJECT",
        default_value = "mailto:push@localhost"
    )]
    pub push_vapid_subject: String,
    /// How long a message waits before it is pushed (milliseconds).
    #[arg(long, env = "PUSH_DELAY_MS", default_value_t = 2000)]
    pub push_delay_ms: u64,
    /// FCM: the service account key file (JSON); unset, no FCM.
    #[arg(long, env = "PUSH_FCM_CREDENTIALS")]
    pub push_fcm_credentials: Option<std::path::PathBuf>,
    /// FCM: where messages go (a test double or a proxy).
    #[arg(
        long,
        env = "PUSH_FCM_ENDPOINT",
        default_value = "https://fcm.googleapis.com"
    )]
    pub push_fcm_endpoint: String,
    /// APNs: the signing key file (`.p8`) from the Apple developer
    /// account; unset, no APNs.
    #[arg(long, env = "PUSH_APNS_KEY")]
    pub push_apns_key: Option<std::path::PathBuf>,
    /// APNs: the signing key's id.
    #[arg(long, env = "PUSH_APNS_KEY_ID", default_value = "")]
    pub push_apns_key_id: String,
    /// APNs: the developer team's id.
    #[arg(long, env = "PUSH_APNS_TEAM_ID", default_value = "")]
    pub push_apns_team_id: String,
    /// APNs: the app's bundle id (the notifications' topic).
    #[arg(long, env = "PUSH_APNS_TOPIC", default_value = "")]
    pub push_apns_topic: String,
    /// APNs: where notifications go (`https://api.sandbox.push.apple.com`
    /// for development builds).
    #[arg(long, env = "PUSH_APNS_ENDPOINT", default_value = apns::PRODUCTION)]
    pub push_apns_endpoint: String,
}

impl PushArgs {
    pub fn config(&self) -> Result<PushConfig, String> {
        let mut c = PushConfig::default();
        if let Some(allow) = &self.push_endpoint_allow {
            c.endpoint_allow = allow
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if !(self.push_vapid_subject.starts_with("mailto:")
            || self.push_vapid_subject.starts_with("https://"))
        {
            return Err("PUSH_VAPID_SUBJECT must be a mailto: or https: URL".to_owned());
        }
        c.vapid_private_key = self.push_vapid_private_key.clone();
        c.vapid_subject = self.push_vapid_subject.clone();
        c.delay = Duration::from_millis(self.push_delay_ms);
        if let Some(path) = &self.push_fcm_credentials {
            let json = std::fs::read_to_string(path)
                .map_err(|e| format!("PUSH_FCM_CREDENTIALS {}: {e}", path.display()))?;
            let mut fcm = FcmConfig::from_json(&json)?;
            fcm.endpoint = self.push_fcm_endpoint.clone();
            c.fcm = Some(fcm);
        }
        if let Some(path) = &self.push_apns_key {
            let key_pem = std::fs::read_to_string(path)
                .map_err(|e| format!("PUSH_APNS_KEY {}: {e}", path.display()))?;
            let apns = ApnsConfig {
                key_pem,
                key_id: self.push_apns_key_id.clone(),
                team_id: self.push_apns_team_id.clone(),
                topic: self.push_apns_topic.clone(),
                endpoint: self.push_apns_endpoint.clone(),
            };
            c.apns = Some(apns);
        }
        Ok(c)
    }
}
