//! `/v1/me/sessions` and `/v1/me/password`: the signed-in user's sessions
//! and password, behind their bearer token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiJson, ApiPath};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AuthService;
use super::sessions::Session;

#[derive(Serialize, ToSchema)]
pub(crate) struct Sessions {
    /// Live sessions, the most recently used first.
    items: Vec<Session>,
}

// Passwords: no `Debug`, so they never reach a log.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    current_password: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Where the caller is signed in: each login (device) with when it was
/// opened and last used, its user agent and address.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "auth", operation_id = "list_sessions",
    responses((status = 200, description = "The caller's live sessions", body = Sessions)))]
pub(crate) async fn list(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
) -> Result<Json<Sessions>, ApiError> {
    let items = auth.sessions(me.user_id, me.session_id).await?;
    Ok(Json(Sessions { items }))
}

/// Sign one session out (its refresh and access tokens stop working on
/// every node within a second); the caller's own is a logout.
#[utoipa::path(delete, path = "/v1/me/sessions/{session_id}", tag = "auth",
    operation_id = "revoke_session",
    params(("session_id" = Uuid, Path, description = "From `GET /v1/me/sessions`")),
    responses((status = 204, description = "Signed out")),
    extensions(("x-error-codes" = json!(["session_not_found"]))))]
pub(crate) async fn revoke(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiPath(session): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if auth.sign_out(me.user_id, session).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "session_not_found",
            "you have no live session with this id",
        ))
    }
}

/// Sign out every session but the caller's.
#[utoipa::path(delete, path = "/v1/me/sessions", tag = "auth", operation_id = "revoke_other_sessions",
    responses((status = 204, description = "Every other session is signed out")))]
pub(crate) async fn revoke_others(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
) -> Result<StatusCode, ApiError> {
    auth.sign_out_others(me.user_id, me.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password, given the current one; every other session is
/// signed out.
#[utoipa::path(put, path = "/v1/me/password", tag = "auth", operation_id = "change_password",
    request_body = PasswordBody,
    responses((status = 204, description = "Changed; other sessions signed out")),
    extensions(("x-error-codes" = json!(["invalid_password", "wrong_password", "password_not_set"]))))]
pub(crate) async fn change_password(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    auth.change_password(
        me.user_id,
        &body.current_password,
        &body.new_password,
        me.session_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
