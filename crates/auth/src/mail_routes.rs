//! The routes of account mail: `PUT /v1/me/email`, `POST
//! /v1/auth/verify-email`, `POST /v1/auth/password-reset` and its
//! `/confirm` ([`crate::email`] has the rules).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AuthService;
use super::email::check_address;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    /// `name@domain`, at most 254 characters (`mail::ADDRESS_PATTERN`).
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
    )]
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ByUsername {
    #[schema(max_length = 100)]
    username: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EmailState {
    email: String,
    /// `false` until the mailed code is entered.
    verified: bool,
}

// Codes and passwords: no `Debug`, so they never reach a log.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    /// The code from the mail.
    #[schema(max_length = 100)]
    token: String,
}

/// One of the two: the account's username, or its confirmed address.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ResetBody {
    Username(ByUsername),
    Email(EmailBody),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetConfirmBody {
    #[schema(max_length = 100)]
    token: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Set the caller's address: a code is mailed there, and the address
/// counts (for password resets) once the code is entered.
#[utoipa::path(put, path = "/v1/me/email", tag = "auth", operation_id = "set_email",
    request_body = EmailBody,
    responses((status = 202, description = "A code is on its way", body = EmailState)),
    extensions(("x-error-codes" = json!(["invalid_email", "password_not_set"]))))]
pub(crate) async fn set_email(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<(StatusCode, Json<EmailState>), ApiError> {
    let email = auth.set_email(me.user_id, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EmailState {
            email,
            verified: false,
        }),
    ))
}

/// Confirm an address with the code mailed to it.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", operation_id = "verify_email",
    request_body = CodeBody,
    responses((status = 200, description = "Confirmed", body = EmailState)),
    extensions(("x-error-codes" = json!(["invalid_mail_code", "email_taken"]))))]
pub(crate) async fn verify_email(
    State(auth): State<Arc<AuthService>>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<EmailState>, ApiError> {
    let email = auth.verify_email(&body.token).await?;
    Ok(Json(EmailState {
        email,
        verified: true,
    }))
}

/// Ask for a password-reset code. Always 202: whether the account or its
/// confirmed address exists is not told; the code (15 minutes, once) goes
/// only to a confirmed address.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    operation_id = "request_password_reset", request_body = ResetBody,
    responses((status = 202, description = "A code is mailed if the account has a confirmed address")),
    extensions(("x-error-codes" = json!(["invalid_email", "invalid_username"]))))]
pub(crate) async fn request_reset(
    State(auth): State<Arc<AuthService>>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<StatusCode, ApiError> {
    // What is malformed is told (that says nothing about any account).
    let (username, email) = match &body {
        ResetBody::Username(u) if u.username.chars().count() > 100 => {
            return Err(
                ApiError::bad_request("invalid_username", "at most 100 characters")
                    .with_field("username"),
            );
        }
        ResetBody::Username(u) => (Some(u.username.as_str()), None),
        ResetBody::Email(e) => (None, Some(check_address(&e.email)?)),
    };
    let email = email.as_deref();
    auth.request_password_reset(username, email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Choose a new password with a reset code: every session is signed out.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    operation_id = "confirm_password_reset", request_body = ResetConfirmBody,
    responses((status = 204, description = "Changed; every session is signed out")),
    extensions(("x-error-codes" = json!(["invalid_mail_code", "invalid_password"]))))]
pub(crate) async fn confirm_reset(
    State(auth): State<Arc<AuthService>>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<StatusCode, ApiError> {
    auth.confirm_password_reset(&body.token, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
