//! The routes of TOTP MFA: `/v1/me/mfa/totp` (set up, enable, disable)
//! and the login's second step `POST /v1/auth/login/mfa` ([`crate::mfa`]
//! has the rules).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chat_common::auth::AuthUser;
use chat_common::http::ClientInfo;
use chat_common::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::mfa::Proof;
use super::{AuthService, TokenPair};

#[derive(Serialize, ToSchema)]
pub(crate) struct TotpSetup {
    /// Base32, for typing into an authenticator app.
    secret: String,
    /// `otpauth://totp/chat:<username>?secret=…&issuer=chat` (SHA-1, 6
    /// digits, 30 s), for a QR code.
    otpauth_uri: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RecoveryCodes {
    /// Ten single-use codes, shown this once.
    recovery_codes: Vec<String>,
}

// Codes: no `Debug`, so they never reach a log.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    /// Six digits from the authenticator app.
    #[schema(max_length = 10)]
    code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoveryBody {
    /// One of the recovery codes (`xxxx-xxxx-xxxx-xxxx`, any case).
    #[schema(max_length = 40)]
    recovery_code: String,
}

/// A code from the app, or one of the recovery codes.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ProofBody {
    Code(CodeBody),
    Recovery(RecoveryBody),
}

impl ProofBody {
    fn proof(&self) -> Proof<'_> {
        match self {
            ProofBody::Code(c) => Proof::Code(&c.code),
            ProofBody::Recovery(r) => Proof::Recovery(&r.recovery_code),
        }
    }
}

/// The login's second step, with a code from the app.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginCode {
    /// From the login's 401 `mfa_required`.
    #[schema(max_length = 100)]
    mfa_token: String,
    #[schema(max_length = 10)]
    code: String,
}

/// The login's second step, with a recovery code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRecovery {
    #[schema(max_length = 100)]
    mfa_token: String,
    #[schema(max_length = 40)]
    recovery_code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginMfaBody {
    Code(LoginCode),
    Recovery(LoginRecovery),
}

/// Set up TOTP: a new secret for the authenticator app; it takes effect
/// once a first code is sent to `/enable`.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "auth", operation_id = "setup_totp",
    responses((status = 200, description = "The secret to enter in the app", body = TotpSetup)),
    extensions(("x-error-codes" = json!(["mfa_already_enabled", "password_not_set"]))))]
pub(crate) async fn setup(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
) -> Result<Json<TotpSetup>, ApiError> {
    let (secret, otpauth_uri) = auth.totp_setup(me.user_id).await?;
    Ok(Json(TotpSetup {
        secret,
        otpauth_uri,
    }))
}

/// Turn TOTP on with a first code from the app; answers the recovery
/// codes (once).
#[utoipa::path(post, path = "/v1/me/mfa/totp/enable", tag = "auth", operation_id = "enable_totp",
    request_body = CodeBody,
    responses((status = 200, description = "On; keep the recovery codes", body = RecoveryCodes)),
    extensions(("x-error-codes" = json!([
        "invalid_mfa_code", "mfa_not_set_up", "mfa_already_enabled", "password_not_set", "rate_limited"
    ]))))]
pub(crate) async fn enable(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let recovery_codes = auth.totp_enable(me.user_id, &body.code).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turn TOTP off with a code or a recovery code.
#[utoipa::path(delete, path = "/v1/me/mfa/totp", tag = "auth", operation_id = "disable_totp",
    request_body = ProofBody,
    responses((status = 204, description = "Off")),
    extensions(("x-error-codes" = json!([
        "invalid_mfa_code", "mfa_not_enabled", "password_not_set", "rate_limited"
    ]))))]
pub(crate) async fn disable(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<ProofBody>,
) -> Result<StatusCode, ApiError> {
    auth.totp_disable(me.user_id, body.proof()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The login's second step: the `mfa_token` from the 401 `mfa_required`
/// and a code (each accepted once) or a recovery code.
#[utoipa::path(post, path = "/v1/auth/login/mfa", tag = "auth", operation_id = "login_mfa",
    request_body = LoginMfaBody,
    responses((status = 200, description = "Logged in", body = TokenPair)),
    extensions(("x-error-codes" = json!(["invalid_mfa_token", "invalid_mfa_code"]))))]
pub(crate) async fn login(
    State(auth): State<Arc<AuthService>>,
    client: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<LoginMfaBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let client = client.map(|c| c.0).unwrap_or_default();
    let (token, proof) = match &body {
        LoginMfaBody::Code(c) => (&c.mfa_token, Proof::Code(&c.code)),
        LoginMfaBody::Recovery(r) => (&r.mfa_token, Proof::Recovery(&r.recovery_code)),
    };
    Ok(Json(auth.login_mfa(token, proof, &client).await?))
}
