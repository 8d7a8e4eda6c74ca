//! Register and login.

use axum::http::StatusCode;
use chat_common::ApiError;
use chat_common::http::ClientInfo;
use chat_domain::{Aggregate, Policy, User, UserAction, UserCommand, UserEvent, user_stream};
use chat_store::typed::encode;
use chat_store::{ExpectedVersion, Metadata};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::email::check_address;
use super::sessions::{self, Which};
use super::{
    AuthService, TokenPair, db_error, domain_error, password, store_error, taken, unauthorized,
};

fn invalid_credentials() -> ApiError {
    unauthorized("invalid_credentials", "unknown username or wrong password")
}

impl AuthService {
    /// The users registered under these (lowercase) usernames; unknown
    /// names are left out. Read from the credentials table, so a user is
    /// found from the moment their registration committed.
    pub async fn user_ids_named(&self, usernames: &[String]) -> Result<Vec<Uuid>, ApiError> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT user_id FROM auth_credentials WHERE username = ANY($1)")
            .bind(usernames)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    /// Create a user: the credentials row and the `UserRegistered` event
    /// commit together or not at all (the row's transaction commits only
    /// after the append succeeded).
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
        email: Option<&str>,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        let email = email.map(check_address).transpose()?;
        let user_id = Uuid::now_v7();
        let now = OffsetDateTime::now_utc();
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        let cmd = UserCommand {
            actor: user_id,
            at: now,
            action: UserAction::Register {
                username: username.to_owned(),
                display_name: display_name.map(str::to_owned),
            },
        };
        let events = User::default()
            .decide(&cmd, &Policy::default())
            .map_err(domain_error)?;
        let username = events
            .iter()
            .find_map(|e| match e {
                UserEvent::UserRegistered { username, .. } => Some(username.clone()),
                _ => None,
            })
            .ok_or_else(|| ApiError::internal(&"registration decided no UserRegistered"))?;
        password::check_rules(password)?;
        let password_hash = password::hash(password.to_owned()).await?;

        // The username is reserved (and the first refresh token stored) in a
        // transaction that commits before the event is appended: holding it
        // across the append would pin a pool connection while the appender,
        // which needs one of its own, waits for the pool. If the append
        // fails, the reservation is taken back.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO auth_credentials (user_id, username, password_hash, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(&username)
        .bind(&password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            let detail = format!("the username {username:?} is taken");
            taken(e, "username_taken", detail, "username")
        })?;
        let session = Uuid::now_v7();
        let pair = self
            .issue_pair(&mut tx, user_id, Vec::new(), session, now)
            .await?;
        sessions::open(&mut tx, session, user_id, now, client).await?;
        let mail = match &email {
            Some(e) => Some(
                self.verification(&mut tx, user_id, &username, e, now)
                    .await?,
            ),
            None => None,
        };
        tx.commit().await.map_err(db_error)?;

        let metadata = Metadata {
            actor: Some(user_id),
            ..Metadata::default()
        };
        let appended = match events
            .iter()
            .map(|e| encode(e, &metadata, now))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(new_events) => {
                self.store
                    .append(&user_stream(user_id), ExpectedVersion::NoStream, new_events)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = appended {
            self.forget_reservation(user_id).await;
            return Err(store_error(e));
        }
        tracing::info!(%user_id, "user registered");
        if let Some(mail) = mail {
            self.mailer.send(mail);
        }
        Ok(pair)
    }

    /// Take back a registration whose event could not be appended: its
    /// credentials and tokens go, so the username is free again.
    async fn forget_reservation(&self, user_id: Uuid) {
        // Refresh tokens go with the credentials (ON DELETE CASCADE).
        let forgot = sqlx::query("DELETE FROM auth_credentials WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool);
        if let Err(e) = forgot.await {
            tracing::error!(%user_id, error = %e, "a failed registration's credentials stay reserved");
        }
    }

    /// Check a username and password and open a new refresh-token family.
    /// Unknown user and wrong password answer alike, after the same work.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, ApiError> {
        if let Some(limiter) = &self.limiter {
            limiter.check_login(username).await?;
        }
        if password.chars().count() > password::MAX_PASSWORD_CHARS {
            // No account can have it, and hashing huge inputs costs.
            return Err(invalid_credentials());
        }
        let username = username.trim().to_lowercase();
        // No username holds a control character (and Postgres refuses NUL
        // in text): no such account, found after the same work as any other.
        let row = if username.chars().any(char::is_control) {
            None
        } else {
            sqlx::query(
                "SELECT user_id, password_hash, roles FROM auth_credentials WHERE username = $1",
            )
            .bind(&username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
        };
        let stored = row
            .as_ref()
            .map(|r| r.try_get::<String, _>("password_hash"))
            .transpose()
            .map_err(db_error)?;
        if !password::verify(password.to_owned(), stored).await? {
            return Err(invalid_credentials());
        }
        let row = row.ok_or_else(invalid_credentials)?;
        let user_id: Uuid = row.try_get("user_id").map_err(db_error)?;
        let roles: Vec<String> = row.try_get("roles").map_err(db_error)?;
        tracing::Span::current().record("user_id", tracing::field::display(user_id));

        if let Some(mfa_token) = self.mfa_challenge(user_id).await? {
            let mut e = unauthorized(
                "mfa_required",
                "the password is right; now a code from the authenticator app",
            );
            e.mfa_token = Some(mfa_token);
            return Err(e);
        }
        let now = OffsetDateTime::now_utc();
        let session = Uuid::now_v7();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let pair = self
            .issue_pair(&mut tx, user_id, roles, session, now)
            .await?;
        sessions::open(&mut tx, session, user_id, now, client).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(pair)
    }

    /// The username of a user who signs in here (not through an external
    /// issuer, whose password, address and second factor live there).
    pub(super) async fn local_username(&self, user: Uuid) -> Result<String, ApiError> {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT username FROM auth_credentials WHERE user_id = $1 AND password_hash <> $2",
        )
        .bind(user)
        .bind(crate::profile::NO_PASSWORD)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        name.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "password_not_set",
                "this account signs in through an external issuer; its password, address and \
                 second factor are kept there",
            )
        })
    }

    /// `user`'s username and password hash, if they have credentials here
    /// (the hash is [`crate::profile::NO_PASSWORD`] for external issuers).
    pub(super) async fn password_of(
        &self,
        user: Uuid,
    ) -> Result<Option<(String, String)>, ApiError> {
        sqlx::query_as("SELECT username, password_hash FROM auth_credentials WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    /// Change `user`'s password, given the current one, and sign out every
    /// other session (`keep` is the caller's). A wrong current password is
    /// counted like a failed login.
    #[tracing::instrument(skip_all, fields(%user))]
    pub async fn change_password(
        &self,
        user: Uuid,
        current: &str,
        new: &str,
        keep: Option<Uuid>,
    ) -> Result<(), ApiError> {
        let row = self.password_of(user).await?;
        let external = |(_, hash): &(String, String)| hash == crate::profile::NO_PASSWORD;
        let Some((username, stored)) = row.filter(|r| !external(r)) else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "password_not_set",
                "this account signs in through an external issuer and has no password here",
            ));
        };
        if let Some(limiter) = &self.limiter {
            limiter.check_login(&username).await?;
        }
        password::check_rules(new).map_err(|e| e.with_field("new_password"))?;
        check_password(current, stored, "current_password").await?;
        let hash = password::hash(new.to_owned()).await?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let ids = set_password(&mut tx, user, &hash, keep).await?;
        tx.commit().await.map_err(db_error)?;
        self.forget(&ids);
        tracing::info!(signed_out = ids.len(), "password changed");
        Ok(())
    }
}

/// `given` against the `stored` hash: 403 `wrong_password` naming `field`
/// (the body's field) when it is not the account's password.
pub(super) async fn check_password(
    given: &str,
    stored: String,
    field: &'static str,
) -> Result<(), ApiError> {
    let right = given.chars().count() <= password::MAX_PASSWORD_CHARS
        && password::verify(given.to_owned(), Some(stored)).await?;
    if right {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong_password",
        "the password is wrong",
    )
    .with_field(field))
}

/// Store `user`'s new password hash and sign out every session but `keep`,
/// through `tx` (a change keeps the caller's session, a reset none); the
/// sessions signed out, for [`AuthService::forget`] once committed.
pub(super) async fn set_password(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    hash: &str,
    keep: Option<Uuid>,
) -> Result<Vec<Uuid>, ApiError> {
    sqlx::query("UPDATE auth_credentials SET password_hash = $2 WHERE user_id = $1")
        .bind(user)
        .bind(hash)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    sessions::revoke(tx, user, Which::AllBut(keep), OffsetDateTime::now_utc()).await
}
