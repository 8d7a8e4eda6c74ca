//! E-mail: an address is confirmed by a code mailed to it (24 hours), and
//! a confirmed address receives password-reset codes (15 minutes). Each
//! code works once and is kept only as its SHA-256. A reset answers the
//! same whether or not the account or address exists, and signs out every
//! session once it is used.

use chat_common::ApiError;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::credentials::set_password;
use super::mail::{Mail, valid_address};
use super::profile::NO_PASSWORD;
use super::tokens::{random_token, token_hash};
use super::{AuthService, db_error, password, taken};

const VERIFY_TTL: time::Duration = time::Duration::hours(24);
const RESET_TTL: time::Duration = time::Duration::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify_email",
            Purpose::Reset => "password_reset",
        }
    }
}

fn invalid_code() -> ApiError {
    ApiError::bad_request(
        "invalid_mail_code",
        "the code is unknown, used or expired; ask for a new one",
    )
    .with_field("token")
}

/// 400 `invalid_email` unless `email` (trimmed) is an address.
pub(super) fn check_address(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    if valid_address(email) {
        Ok(email.to_owned())
    } else {
        Err(ApiError::bad_request("invalid_email", "not an e-mail address").with_field("email"))
    }
}

/// Store a new code for `user` and `email`, through `conn`; the code.
async fn new_code(
    conn: &mut PgConnection,
    user: Uuid,
    purpose: Purpose,
    email: &str,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    let code = random_token();
    let ttl = match purpose {
        Purpose::Verify => VERIFY_TTL,
        Purpose::Reset => RESET_TTL,
    };
    sqlx::query(
        "INSERT INTO auth_mail_codes (code_hash, user_id, purpose, email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash(&code))
    .bind(user)
    .bind(purpose.as_str())
    .bind(email)
    .bind(now)
    .bind(now + ttl)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(code)
}

/// The mail carrying a verification code.
pub(super) fn verification_mail(username: &str, email: &str, code: &str) -> Mail {
    Mail {
        to: email.to_owned(),
        subject: "Confirm your e-mail address".to_owned(),
        body: format!(
            "Hello {username},\n\nTo confirm this address for your chat account, enter this code:\n\n    {code}\n\n\
             It is valid for 24 hours. If you did not ask for it, ignore this mail.\n"
        ),
    }
}

impl AuthService {
    /// Store a verification code for `email` through `conn` (the caller's
    /// transaction); the mail to send once it commits.
    pub(super) async fn verification(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        username: &str,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<Mail, ApiError> {
        let code = new_code(conn, user, Purpose::Verify, email, now).await?;
        Ok(verification_mail(username, email, code.as_str()))
    }

    /// Ask `user` to confirm `email`: a code is mailed there. The address
    /// they had stays in force until the new one is confirmed.
    pub async fn set_email(&self, user: Uuid, email: &str) -> Result<String, ApiError> {
        let email = check_address(email)?;
        let username = self.local_username(user).await?;
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        let mail = self
            .verification(
                &mut conn,
                user,
                &username,
                &email,
                OffsetDateTime::now_utc(),
            )
            .await?;
        self.mailer.send(mail);
        Ok(email)
    }

    /// Confirm the address a verification code was mailed to; the address.
    pub async fn verify_email(&self, code: &str) -> Result<String, ApiError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let (user, email) = take_code(&mut tx, code, Purpose::Verify).await?;
        sqlx::query(
            "UPDATE auth_credentials SET email = $2, email_verified_at = now() WHERE user_id = $1",
        )
        .bind(user)
        .bind(&email)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            let detail = "another account has confirmed this address".to_owned();
            taken(e, "email_taken", detail, "email")
        })?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(%user, "e-mail address confirmed");
        Ok(email)
    }

    /// Mail a reset code to the confirmed address of the account named by
    /// `username` or `email`, if there is one. Answers alike either way.
    pub async fn request_password_reset(
        &self,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), ApiError> {
        let found: Option<(Uuid, String, String)> = sqlx::query_as(
            "SELECT user_id, username, email FROM auth_credentials
              WHERE email_verified_at IS NOT NULL AND password_hash <> $3
                AND (username = $1 OR lower(email) = lower($2))",
        )
        .bind(username.map(|u| u.trim().to_lowercase()))
        .bind(email.map(str::trim))
        .bind(NO_PASSWORD)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        let Some((user, username, address)) = found else {
            return Ok(());
        };
        // Resets share the account's login budget: nobody floods a mailbox.
        if let Some(limiter) = &self.limiter
            && limiter.check_login(&username).await.is_err()
        {
            tracing::info!(%user, "password reset not mailed: the account's limit is reached");
            return Ok(());
        }
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        let code = new_code(
            &mut conn,
            user,
            Purpose::Reset,
            &address,
            OffsetDateTime::now_utc(),
        )
        .await?;
        self.mailer.send(Mail {
            to: address,
            subject: "Reset your password".to_owned(),
            body: format!(
                "Hello {username},\n\nTo choose a new password for your chat account, enter this code:\n\n    {code}\n\n\
                 It is valid for 15 minutes and signs you out everywhere. If you did not ask for it, \
                 ignore this mail: your password stays as it is.\n"
            ),
        });
        Ok(())
    }

    /// Set a new password with a reset code; every session is signed out.
    pub async fn confirm_password_reset(&self, code: &str, new: &str) -> Result<(), ApiError> {
        password::check_rules(new).map_err(|e| e.with_field("new_password"))?;
        // A code that cannot work costs no password hash.
        let known: Option<bool> = sqlx::query_scalar(
            "SELECT true FROM auth_mail_codes WHERE code_hash = $1 AND purpose = $2
                AND used_at IS NULL AND expires_at > now()",
        )
        .bind(token_hash(code))
        .bind(Purpose::Reset.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        if known.is_none() {
            return Err(invalid_code());
        }
        let hash = password::hash(new.to_owned()).await?;
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let (user, _) = take_code(&mut tx, code, Purpose::Reset).await?;
        let ids = set_password(&mut tx, user, &hash, None).await?;
        // The other reset codes mailed to this account die with this one.
        sqlx::query(
            "UPDATE auth_mail_codes SET used_at = $2
              WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL",
        )
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.forget(&ids);
        tracing::info!(%user, signed_out = ids.len(), "password reset");
        Ok(())
    }
}

/// Use a live code of `purpose` (locked, marked used); its user and address.
async fn take_code(
    conn: &mut PgConnection,
    code: &str,
    purpose: Purpose,
) -> Result<(Uuid, String), ApiError> {
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "UPDATE auth_mail_codes SET used_at = now()
          WHERE code_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
      RETURNING user_id, email",
    )
    .bind(token_hash(code))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.ok_or_else(invalid_code)
}
