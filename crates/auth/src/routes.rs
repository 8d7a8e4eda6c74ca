//! `/v1/auth/*`: register, login, refresh, logout; and the signed-in
//! user's sessions and password ([`crate::account`]).

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chat_common::auth::Verifier;
use chat_common::http::ClientInfo;
use chat_common::openapi::{JSON_BODY_CODES, add_codes, bearer_conventions, for_each_operation};
use chat_common::{ApiError, ApiJson};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AuthService, TokenPair, account, erase, mail_routes, mfa_routes};

/// The auth routes and their document, for any state that can hand out
/// the [`AuthService`].
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<AuthService>: FromRef<S>,
    Arc<Verifier>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(account::list, account::revoke_others))
        .routes(routes!(account::revoke))
        .routes(routes!(account::change_password))
        .routes(routes!(erase::delete_account))
        .routes(routes!(mail_routes::set_email))
        .routes(routes!(mail_routes::verify_email))
        .routes(routes!(mail_routes::request_reset))
        .routes(routes!(mail_routes::confirm_reset))
        .routes(routes!(mfa_routes::setup, mfa_routes::disable))
        .routes(routes!(mfa_routes::enable))
        .routes(routes!(mfa_routes::login))
}

/// What every auth route shares: JSON bodies, the per-IP rate limit, the
/// database.
pub fn auth_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |path, op| {
        // `/v1/me` itself: only its DELETE (the account) lives here.
        if path.starts_with("/v1/me/") || path == "/v1/me" {
            bearer_conventions(path, op);
        }
        if op.request_body.is_some() {
            add_codes(op, &JSON_BODY_CODES);
        }
        add_codes(
            op,
            &["rate_limited", "internal_error", "service_unavailable"],
        );
    });
}

// The bodies carry passwords and tokens: no `Debug`, so they never reach a log.

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// 3..=32 characters of a-z, 0-9, `_` and `.` (lowercased).
    #[schema(
        pattern = r"^[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9_.]{3,32}[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    username: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// At most 64 characters, no control characters; blank or left out:
    /// the username.
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    display_name: Option<String>,
    /// An address to confirm (a code is mailed there); optional
    /// (`mail::ADDRESS_PATTERN`).
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
    )]
    email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// Register a user and open a session.
#[utoipa::path(
    post, path = "/v1/auth/register", tag = "auth", operation_id = "register",
    request_body = RegisterBody,
    responses((status = 201, description = "Registered", body = TokenPair)),
    extensions(("x-error-codes" = json!([
        "invalid_username", "invalid_password", "invalid_display_name", "invalid_email",
        "username_taken", "user_exists"
    ]))),
)]
async fn register(
    State(auth): State<Arc<AuthService>>,
    client: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<TokenPair>), ApiError> {
    let client = client.map(|c| c.0).unwrap_or_default();
    let pair = auth
        .register(
            &body.username,
            &body.password,
            body.display_name.as_deref(),
            body.email.as_deref(),
            &client,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(pair)))
}

/// Log in with a username and password.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginBody,
    responses((status = 200, description = "Logged in", body = TokenPair)),
    extensions(("x-error-codes" = json!(["invalid_credentials", "mfa_required"]))),
)]
async fn login(
    State(auth): State<Arc<AuthService>>,
    client: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let client = client.map(|c| c.0).unwrap_or_default();
    Ok(Json(
        auth.login(&body.username, &body.password, &client).await?,
    ))
}

/// Trade a refresh token for a new pair. Refresh tokens rotate; presenting
/// a rotated one again revokes its whole family.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshBody,
    responses((status = 200, description = "A new pair", body = TokenPair)),
    extensions(("x-error-codes" = json!(["invalid_refresh_token", "refresh_token_reused"]))),
)]
async fn refresh(
    State(auth): State<Arc<AuthService>>,
    client: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let client = client.map(|c| c.0).unwrap_or_default();
    Ok(Json(auth.refresh(&body.refresh_token, &client).await?))
}

/// Revoke a refresh token (and its family).
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout",
    request_body = RefreshBody,
    responses((status = 204, description = "Logged out (also for unknown or revoked tokens)")),
)]
async fn logout(
    State(auth): State<Arc<AuthService>>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    auth.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
