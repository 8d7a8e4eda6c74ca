//! `DELETE /v1/me`: deleting an account, for good
//! (`docs/decisions/0018-erasure.md`).
//!
//! The caller proves it is them (their password, and a second factor when
//! TOTP is on). Then `UserErased` is appended to their stream: the store
//! destroys every key they own in that same transaction, so their name,
//! profile and every message they sent are unreadable in the log from
//! that commit on, and the projections show them as "Deleted user". Last,
//! what is kept outside the log goes: their credentials with every
//! session, address, code and second factor (the auth tables cascade),
//! their stored command answers and their aggregate snapshot. Their
//! sessions are remembered (by id only) until their access tokens expire,
//! so every node refuses those at once.
//!
//! Each step can be run again: a request that failed half way is finished
//! by the next one (the account is then already erased in the log).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use chat_common::auth::AuthUser;
use chat_common::{ApiError, ApiJson};
use chat_domain::{Aggregate, Policy, User, UserAction, UserCommand, user_stream};
use chat_store::typed::{encode, load};
use chat_store::{ExpectedVersion, Metadata};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::credentials::check_password;
use super::mfa::Proof;
use super::{AuthService, db_error, domain_error, store_error};

/// What proves the caller is the account's owner. Secrets: no `Debug`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteAccount {
    /// The account's password (accounts of an external issuer have none).
    password: Option<String>,
    /// A code from the authenticator app, when TOTP is on.
    code: Option<String>,
    /// Or one of the recovery codes.
    recovery_code: Option<String>,
}

impl DeleteAccount {
    fn second_factor(&self) -> Option<Proof<'_>> {
        match (&self.code, &self.recovery_code) {
            (Some(code), _) => Some(Proof::Code(code)),
            (None, Some(code)) => Some(Proof::Recovery(code)),
            (None, None) => None,
        }
    }
}

/// Delete the caller's account and erase what they wrote: their name,
/// profile and messages become unreadable everywhere this system keeps
/// them, and they show as "Deleted user". Every session ends.
#[utoipa::path(delete, path = "/v1/me", tag = "auth", operation_id = "delete_account",
    request_body = DeleteAccount,
    responses((status = 202, description = "Erased; every session is signed out")),
    extensions(("x-error-codes" = json!([
        "password_required", "wrong_password", "mfa_code_required", "invalid_mfa_code",
        "rate_limited"
    ]))))]
pub(crate) async fn delete_account(
    State(auth): State<Arc<AuthService>>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<DeleteAccount>,
) -> Result<StatusCode, ApiError> {
    auth.delete_account(me.user_id, &body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// 403, like a wrong one: the body is well formed (accounts of an
/// external issuer need no password), the proof is what is missing.
fn password_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "password_required",
        "deleting the account needs its password",
    )
    .with_field("password")
}

impl AuthService {
    #[tracing::instrument(skip_all, fields(%user))]
    async fn delete_account(&self, user: Uuid, proof: &DeleteAccount) -> Result<(), ApiError> {
        let stream = user_stream(user);
        let loaded = load::<User>(self.store.as_ref(), &stream)
            .await
            .map_err(store_error)?;
        self.prove_owner(user, proof, loaded.state.erased).await?;
        if !loaded.state.erased {
            let cmd = UserCommand {
                actor: user,
                at: OffsetDateTime::now_utc(),
                action: UserAction::Erase,
            };
            let events = loaded
                .state
                .decide(&cmd, &Policy::default())
                .map_err(domain_error)?;
            let metadata = Metadata {
                actor: Some(user),
                ..Metadata::default()
            };
            let new_events = events
                .iter()
                .map(|e| encode(e, &metadata, cmd.at))
                .collect::<Result<Vec<_>, _>>()
                .map_err(store_error)?;
            self.store
                .append(&stream, ExpectedVersion::Exact(loaded.version), new_events)
                .await
                .map_err(store_error)?;
        }
        let signed_out = self.forget_account(user, &stream).await?;
        self.forget(&signed_out);
        tracing::info!(signed_out = signed_out.len(), "account erased");
        Ok(())
    }

    /// The password (if the account has one) and, with TOTP on, a code.
    /// Without credentials there is nothing to prove only when the account
    /// is already erased (an earlier request did not finish); any other
    /// account without them (made by a tool) cannot be deleted this way.
    async fn prove_owner(
        &self,
        user: Uuid,
        body: &DeleteAccount,
        erased: bool,
    ) -> Result<(), ApiError> {
        let Some((username, stored)) = self.password_of(user).await? else {
            return if erased {
                Ok(())
            } else {
                Err(password_required())
            };
        };
        if stored == crate::profile::NO_PASSWORD {
            return Ok(());
        }
        if let Some(limiter) = &self.limiter {
            limiter.check_login(&username).await?;
        }
        let Some(given) = &body.password else {
            return Err(password_required());
        };
        check_password(given, stored, "password").await?;
        self.prove_second_factor(user, &username, body.second_factor())
            .await
    }

    /// Take everything kept outside the log, in one transaction: the
    /// credentials (and with them sessions, tokens, codes and second
    /// factor), stored command answers and the aggregate snapshot. Answers
    /// the sessions signed out.
    async fn forget_account(&self, user: Uuid, stream: &str) -> Result<Vec<Uuid>, ApiError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let sessions: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO auth_erased_sessions (session_id)
             SELECT session_id FROM auth_sessions WHERE user_id = $1
             ON CONFLICT (session_id) DO NOTHING
             RETURNING session_id",
        )
        .bind(user)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        // The command side's tables (idempotency answers, snapshots) are
        // forgotten here too: an answer or a folded state may hold what
        // the user wrote.
        sqlx::query("DELETE FROM auth_erased_sessions WHERE erased_at < now() - interval '1 day'")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for sql in [
            "DELETE FROM auth_credentials WHERE user_id = $1",
            "DELETE FROM idempotency_keys WHERE actor = $1",
        ] {
            sqlx::query(sql)
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        sqlx::query("DELETE FROM aggregate_snapshots WHERE stream = $1")
            .bind(stream)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(sessions)
    }
}
