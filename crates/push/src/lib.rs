//! # chat-push
//!
//! Owns push notifications for people whose app is closed:
//!
//! * each user's devices (`/v1/me/push-subscriptions`), with Web Push
//!   endpoints limited to `PUSH_ENDPOINT_ALLOW` ([`endpoint`]);
//! * the notifier: the `push` projection ([`projection`]) copies what is
//!   to be pushed from the log under the projector runner's lease and
//!   checkpoint, and the sender ([`notifier`], [`retry`]) turns each
//!   chat's burst into one notification per device, by the domain's rule
//!   ([`chat_domain::push`]), with the badge and preview;
//! * Web Push itself: RFC 8291 encryption ([`ece`]) and RFC 8292 VAPID
//!   ([`vapid`]), over an HTTP client that follows no redirects ([`send`]);
//!   FCM HTTP v1 ([`fcm`]) and APNs over HTTP/2 ([`apns`]) for app tokens.
//!
//! See `docs/push.md` and ADR 0016.

pub mod apns;
pub mod config;
pub mod ece;
pub mod endpoint;
mod facts;
pub mod fcm;
mod marks;
pub mod metrics;
pub mod notifier;
pub mod projection;
pub mod retry;
mod routes;
pub mod send;
pub mod vapid;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use chat_common::auth::Verifier;
use chat_common::openapi::{JSON_BODY_CODES, add_codes, bearer_conventions, for_each_operation};
use chat_common::read_models::CheckpointWatch;
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use config::{PushArgs, PushConfig};
pub use projection::PushProjection;
pub use vapid::Vapid;

/// Whether a user has a live socket on any node: they see new messages
/// live and are not pushed. The gateway answers it; a node without one
/// answers "no" ([`Nobody`]).
#[async_trait]
pub trait Presence: Send + Sync + 'static {
    async fn connected(&self, user: Uuid) -> bool;
}

/// No gateway here: nobody is connected.
pub struct Nobody;

#[async_trait]
impl Presence for Nobody {
    async fn connected(&self, _user: Uuid) -> bool {
        false
    }
}

/// What the push routes and the notifier share. Cheap to clone.
#[derive(Clone)]
pub struct PushApp {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    pub config: Arc<PushConfig>,
    pub vapid: Arc<Vapid>,
    client: send::PushClient,
    fcm: Option<Arc<fcm::Fcm>>,
    apns: Option<Arc<apns::Apns>>,
    presence: Arc<dyn Presence>,
    /// The read models a burst's facts come from.
    read_models: CheckpointWatch,
}

impl FromRef<PushApp> for Arc<Verifier> {
    fn from_ref(s: &PushApp) -> Self {
        s.verifier.clone()
    }
}

impl PushApp {
    /// Load (or make and keep) the VAPID key and get ready to send;
    /// `read_models` is the process's one watch of the read models (a
    /// burst's facts come from users, chats and messages).
    pub async fn start(
        pool: PgPool,
        verifier: Arc<Verifier>,
        config: PushConfig,
        presence: Arc<dyn Presence>,
        read_models: CheckpointWatch,
    ) -> Result<PushApp, String> {
        let vapid = Vapid::load(
            &pool,
            config.vapid_private_key.as_ref().map(|s| s.expose()),
            &config.vapid_subject,
        )
        .await
        .map_err(|e| e.to_string())?;
        let fcm = match &config.fcm {
            Some(c) => Some(Arc::new(fcm::Fcm::new(c.clone())?)),
            None => None,
        };
        let apns = match &config.apns {
            Some(c) => Some(Arc::new(apns::Apns::new(c.clone(), config.timeout)?)),
            None => None,
        };
        Ok(PushApp {
            client: send::PushClient::new(config.timeout),
            fcm,
            apns,
            pool,
            verifier,
            config: Arc::new(config),
            vapid: Arc::new(vapid),
            presence,
            read_models,
        })
    }

    /// Send one device its notification (`payload`, collapsed per `topic`).
    pub(crate) async fn send(
        &self,
        to: &send::Device,
        payload: &serde_json::Value,
        topic: &str,
        urgent: bool,
    ) -> send::Outcome {
        let outcome = match &to.target {
            send::Target::WebPush { endpoint, keys } => {
                let body = payload.to_string();
                send::webpush(
                    &self.client,
                    &self.vapid,
                    endpoint,
                    keys,
                    body.as_bytes(),
                    topic,
                    urgent,
                )
                .await
            }
            send::Target::Fcm { token } => match &self.fcm {
                Some(fcm) => fcm.send(&self.client, token, payload, topic, urgent).await,
                // FCM was configured when the device registered, not now.
                None => send::Outcome::Refused(0),
            },
            send::Target::Apns { token } => match &self.apns {
                Some(apns) => apns.send(token, payload, topic, urgent).await,
                None => send::Outcome::Refused(0),
            },
        };
        metrics::count(&outcome);
        outcome
    }

    /// Run the notifier's sender until `shutdown` (every node may: bursts
    /// and retries are locked per chat and per row).
    pub fn spawn_notifier(&self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(notifier::run(self.clone(), shutdown))
    }
}

/// The push migrations (schema `push`); other crates migrate the same
/// database, so versions this one does not know are ignored.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Largest body the push routes take. A real subscription is under 8 KiB,
/// but a body that breaks only a `maxLength` must reach validation and get
/// its 400 rather than a 413: at the schema's limits (token 4,096 and
/// endpoint 2,048 characters), each character written as a 12-byte JSON
/// escape, a body stays under 96 KiB.
const MAX_BODY: usize = 128 * 1024;

/// The push routes and their document.
pub fn router_with_openapi(app: PushApp) -> (Router, OpenApi) {
    documented_routes()
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
        .split_for_parts()
}

pub fn documented_routes() -> OpenApiRouter<PushApp> {
    let mut r = OpenApiRouter::new()
        .routes(routes!(routes::vapid_key))
        .routes(routes!(routes::subscribe, routes::list))
        .routes(routes!(routes::remove));
    for_each_operation(r.get_openapi_mut(), |path, op| {
        bearer_conventions(path, op);
        if op.request_body.is_some() {
            add_codes(op, &JSON_BODY_CODES);
        }
    });
    r
}
