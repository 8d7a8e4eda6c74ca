//! The push routes: the VAPID public key, and each user's own devices
//! (`/v1/me/push-subscriptions`: add, list, remove).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiJson, ApiPath};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::PushApp;
use crate::ece::{KeyError, Receiver};
use crate::endpoint::{MAX_ENDPOINT_LEN, allowed};

/// Most devices one user may have.
pub const MAX_SUBSCRIPTIONS: i64 = 20;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VapidKey {
    /// Base64url of the uncompressed P-256 point: the browser's
    /// `applicationServerKey`.
    public_key: String,
}

/// The server's VAPID public key (RFC 8292), for `pushManager.subscribe`.
#[utoipa::path(get, path = "/v1/push/vapid-public-key", tag = "push",
    operation_id = "get_vapid_public_key",
    responses((status = 200, description = "The key", body = VapidKey)),
)]
pub(crate) async fn vapid_key(State(app): State<PushApp>, _me: AuthUser) -> Json<VapidKey> {
    Json(VapidKey {
        public_key: app.vapid.public_key().to_owned(),
    })
}

/// A device's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Webpush,
    Fcm,
    Apns,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Keys {
    /// Base64url of the browser's P-256 public key (65 bytes, uncompressed).
    #[schema(max_length = 100)]
    p256dh: String,
    /// Base64url of the 16-byte authentication secret.
    #[schema(max_length = 30)]
    auth: String,
}

/// `{kind: "webpush", endpoint, keys}` as `PushSubscription.toJSON()`
/// gives it, or `{kind: "fcm"|"apns", token}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribeBody {
    kind: Kind,
    /// Web Push: the push service URL (must match `PUSH_ENDPOINT_ALLOW`).
    #[schema(max_length = 2048)]
    endpoint: Option<String>,
    /// Web Push: the subscription's keys.
    keys: Option<Keys>,
    /// FCM: the registration token; APNs: the device token (hex).
    #[schema(max_length = 4096)]
    token: Option<String>,
    /// `PushSubscription.toJSON()` also carries this; ignored.
    #[serde(default, rename = "expirationTime")]
    #[schema(value_type = Option<f64>)]
    _expiration_time: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionId {
    subscription_id: Uuid,
}

/// Register this device for push notifications (again: the same endpoint
/// keeps its id and takes the new keys; a device another account had is
/// moved to the caller).
#[utoipa::path(post, path = "/v1/me/push-subscriptions", tag = "push",
    operation_id = "add_push_subscription", request_body = SubscribeBody,
    responses((status = 201, description = "Registered", body = SubscriptionId)),
    extensions(("x-error-codes" = json!([
        "malformed_json", "invalid_body", "push_endpoint_not_allowed", "invalid_push_keys",
        "push_kind_not_configured", "too_many_push_subscriptions"
    ]))),
)]
pub(crate) async fn subscribe(
    State(app): State<PushApp>,
    AuthUser(me): AuthUser,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SubscribeBody>,
) -> Result<(StatusCode, Json<SubscriptionId>), ApiError> {
    let device = match b.kind {
        Kind::Webpush => web_device(&app, &b)?,
        Kind::Fcm if app.config.fcm.is_some() => app_device(&b, "fcm")?,
        Kind::Apns if app.config.apns.is_some() => app_device(&b, "apns")?,
        Kind::Fcm | Kind::Apns => {
            return Err(ApiError::bad_request(
                "push_kind_not_configured",
                "this server has no sender for that kind of device",
            )
            .with_field("kind"));
        }
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect::<String>());
    let id = store(&app, me.user_id, &device, agent)
        .await
        .map_err(|e| match e {
            Stored::Full => ApiError::new(
                StatusCode::CONFLICT,
                "too_many_push_subscriptions",
                format!("at most {MAX_SUBSCRIPTIONS} devices; remove one first"),
            ),
            Stored::Db(e) => ApiError::unavailable(&e),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionId {
            subscription_id: id,
        }),
    ))
}

/// A device as stored: its kind, endpoint (or token) and Web Push keys.
struct NewDevice {
    kind: &'static str,
    endpoint: String,
    p256dh: Option<Vec<u8>>,
    auth: Option<Vec<u8>>,
}

fn web_device(app: &PushApp, b: &SubscribeBody) -> Result<NewDevice, ApiError> {
    if b.token.is_some() {
        return Err(
            ApiError::bad_request("invalid_body", "a webpush subscription has no token")
                .with_field("token"),
        );
    }
    let endpoint = b.endpoint.as_deref().ok_or_else(|| {
        ApiError::bad_request("invalid_body", "a webpush subscription needs its endpoint")
            .with_field("endpoint")
    })?;
    let url = allowed(endpoint, &app.config.endpoint_allow).ok_or_else(|| {
        ApiError::bad_request(
            "push_endpoint_not_allowed",
            format!(
                "the endpoint must be a URL of at most {MAX_ENDPOINT_LEN} bytes starting with one of \
                 the allowed push services"
            ),
        )
        .with_field("endpoint")
    })?;
    let keys = b.keys.as_ref().ok_or_else(|| {
        ApiError::bad_request("invalid_body", "a webpush subscription needs its keys")
            .with_field("keys")
    })?;
    let (p256dh, auth) = decode_keys(keys)?;
    Ok(NewDevice {
        kind: "webpush",
        endpoint: url.to_string(),
        p256dh: Some(p256dh),
        auth: Some(auth),
    })
}

/// An app's device: its token, printable and at most 4 KiB, nothing else.
/// An APNs token is hex: it becomes part of the request's path.
fn app_device(b: &SubscribeBody, kind: &'static str) -> Result<NewDevice, ApiError> {
    if b.endpoint.is_some() || b.keys.is_some() {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("a {kind} subscription has a token, no endpoint or keys"),
        )
        .with_field("endpoint"));
    }
    let token = b.token.as_deref().unwrap_or("");
    let (fits, rule): (fn(char) -> bool, _) = if kind == "apns" {
        (|c| c.is_ascii_hexdigit(), "hex digits")
    } else {
        (|c| c.is_ascii_graphic(), "printable characters")
    };
    if token.is_empty() || token.len() > 4096 || !token.chars().all(fits) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("the token must be 1 to 4096 {rule}"),
        )
        .with_field("token"));
    }
    Ok(NewDevice {
        kind,
        endpoint: token.to_owned(),
        p256dh: None,
        auth: None,
    })
}

enum Stored {
    Full,
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Stored {
    fn from(e: sqlx::Error) -> Self {
        Stored::Db(e)
    }
}

/// Keep `device` for `user`: the same endpoint again keeps its id and takes
/// the new keys; one another account had moves to `user`.
async fn store(
    app: &PushApp,
    user: Uuid,
    device: &NewDevice,
    agent: Option<String>,
) -> Result<Uuid, Stored> {
    let mut tx = app.pool.begin().await?;
    // One writer per user at a time, so the cap holds under races.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("push-user:{user}"))
        .execute(&mut *tx)
        .await?;
    let (count, same): (i64, bool) = sqlx::query_as(
        "SELECT count(*), coalesce(bool_or(endpoint = $2 AND kind = $3), false) \
           FROM push.subscriptions WHERE user_id = $1",
    )
    .bind(user)
    .bind(&device.endpoint)
    .bind(device.kind)
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_SUBSCRIPTIONS && !same {
        return Err(Stored::Full);
    }
    let (id,): (Uuid,) = sqlx::query_as(
        "INSERT INTO push.subscriptions (subscription_id, user_id, kind, endpoint, p256dh, auth, \
           user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (kind, endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, \
           p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, user_agent = EXCLUDED.user_agent \
         RETURNING subscription_id",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(device.kind)
    .bind(&device.endpoint)
    .bind(&device.p256dh)
    .bind(&device.auth)
    .bind(agent)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Base64url (padded or not) bytes of both keys, checked as a P-256 point
/// and a 16-byte secret.
fn decode_keys(keys: &Keys) -> Result<(Vec<u8>, Vec<u8>), ApiError> {
    let bad = |field: &str, e: &dyn std::fmt::Display| {
        ApiError::bad_request("invalid_push_keys", e.to_string())
            .with_field(format!("keys.{field}"))
    };
    let decode = |s: &str| {
        let s = s.trim();
        URL_SAFE_NO_PAD.decode(s).or_else(|_| URL_SAFE.decode(s))
    };
    let p256dh = decode(&keys.p256dh).map_err(|e| bad("p256dh", &e))?;
    let auth = decode(&keys.auth).map_err(|e| bad("auth", &e))?;
    Receiver::from_bytes(&p256dh, &auth).map_err(|e| match e {
        KeyError::BadPoint => bad("p256dh", &e),
        KeyError::BadAuth => bad("auth", &e),
    })?;
    Ok((p256dh, auth))
}

/// One of the caller's devices.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Subscription {
    subscription_id: Uuid,
    kind: Kind,
    /// The push service URL (Web Push) or the device token.
    endpoint: String,
    user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// When a push service last took a notification for it.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_success_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Subscriptions {
    items: Vec<Subscription>,
}

type SubscriptionRow = (
    Uuid,
    String,
    String,
    Option<String>,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

/// The caller's registered devices, newest first.
#[utoipa::path(get, path = "/v1/me/push-subscriptions", tag = "push",
    operation_id = "list_push_subscriptions",
    responses((status = 200, description = "Their devices", body = Subscriptions)),
)]
pub(crate) async fn list(
    State(app): State<PushApp>,
    AuthUser(me): AuthUser,
) -> Result<Json<Subscriptions>, ApiError> {
    let rows: Vec<SubscriptionRow> = sqlx::query_as(
        "SELECT subscription_id, kind, endpoint, user_agent, created_at, last_success_at \
               FROM push.subscriptions WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(me.user_id)
    .fetch_all(&app.pool)
    .await
    .map_err(|e| ApiError::unavailable(&e))?;
    let items = rows
        .into_iter()
        .map(
            |(id, kind, endpoint, user_agent, created_at, last_success_at)| Subscription {
                subscription_id: id,
                kind: serde_json::from_value(serde_json::Value::from(kind))
                    .unwrap_or(Kind::Webpush),
                endpoint,
                user_agent,
                created_at,
                last_success_at,
            },
        )
        .collect();
    Ok(Json(Subscriptions { items }))
}

/// Remove one of the caller's devices: it gets no more notifications.
#[utoipa::path(delete, path = "/v1/me/push-subscriptions/{subscription_id}", tag = "push",
    operation_id = "remove_push_subscription",
    params(("subscription_id" = Uuid, Path)),
    responses((status = 204, description = "Removed")),
    extensions(("x-error-codes" = json!(["push_subscription_not_found"]))),
)]
pub(crate) async fn remove(
    State(app): State<PushApp>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let done =
        sqlx::query("DELETE FROM push.subscriptions WHERE subscription_id = $1 AND user_id = $2")
            .bind(id)
            .bind(me.user_id)
            .execute(&app.pool)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found(
            "push_subscription_not_found",
            format!("no push subscription {id} of yours"),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
