//! Profiles for users of an external issuer: created the first time such a
//! user is seen, with a username derived from the token's
//! `preferred_username`. The username is reserved in `auth_credentials`
//! (with a password hash no password matches) so it stays unique across
//! local and external users.

use chat_common::ApiError;
use chat_common::auth::Principal;
use chat_domain::{Aggregate, Policy, User, UserAction, UserCommand, user_stream};
use chat_store::typed::encode;
use chat_store::{ExpectedVersion, Metadata, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuthService, db_error, domain_error, store_error};

/// Stored as the password hash of external users: not a PHC string, so no
/// password ever matches it.
pub(crate) const NO_PASSWORD: &str = "!external";

const MAX_USERNAME_CHARS: usize = 32;
const MIN_USERNAME_CHARS: usize = 3;

/// `hint` as a valid username: the part before an `@`, lowercased, other
/// characters than `[a-z0-9_.]` replaced by `_`, at most 32 characters.
fn sanitize(hint: &str) -> Option<String> {
    let local = hint.split('@').next().unwrap_or(hint).trim();
    let name: String = local
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_USERNAME_CHARS)
        .collect();
    let meaningful = name.chars().any(|c| c.is_ascii_alphanumeric());
    (meaningful && name.chars().count() >= MIN_USERNAME_CHARS).then_some(name)
}

/// Usernames to try, best first.
fn candidates(user_id: Uuid, hint: Option<&str>) -> Vec<String> {
    let hex = user_id.simple().to_string();
    let mut names: Vec<String> = hint.and_then(sanitize).into_iter().collect();
    names.push(format!("user_{}", &hex[..8]));
    names.push(format!("user_{}", &hex[..24]));
    names
}

impl AuthService {
    /// Make sure an external user has a profile (`user-{id}` stream).
    /// Idempotent; users we registered ourselves are skipped.
    #[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
    pub async fn ensure_profile(&self, principal: &Principal) -> Result<(), ApiError> {
        if !principal.external {
            return Ok(());
        }
        let user_id = principal.user_id;
        let stream = user_stream(user_id);
        if self
            .store
            .stream_head(&stream)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        for username in candidates(user_id, principal.username_hint.as_deref()) {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            let inserted = sqlx::query(
                "INSERT INTO auth_credentials (user_id, username, password_hash, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(&username)
            .bind(NO_PASSWORD)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if inserted == 0 {
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM auth_credentials WHERE user_id = $1)",
                )
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                if exists {
                    // A concurrent first request created it.
                    return Ok(());
                }
                continue; // The username is taken: try the next one.
            }
            let display_name = principal
                .username_hint
                .as_deref()
                .map(|h| h.chars().take(64).collect::<String>());
            let events = register(user_id, now, &username, display_name)?;
            let metadata = Metadata {
                actor: Some(user_id),
                ..Metadata::default()
            };
            let events = events
                .iter()
                .map(|e| encode(e, &metadata, now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(store_error)?;
            match self
                .store
                .append(&stream, ExpectedVersion::NoStream, events)
                .await
            {
                Ok(_) => {}
                // The stream appeared meanwhile: the profile exists.
                Err(StoreError::WrongExpectedVersion { .. }) => return Ok(()),
                Err(e) => return Err(store_error(e)),
            }
            tx.commit().await.map_err(db_error)?;
            tracing::info!(%username, "profile created for an external user");
            return Ok(());
        }
        Err(ApiError::internal(&format!(
            "no free username for external user {user_id}"
        )))
    }
}

/// The domain's registration, falling back to the username as display name
/// when the hint is not a valid one.
fn register(
    user_id: Uuid,
    at: OffsetDateTime,
    username: &str,
    display_name: Option<String>,
) -> Result<Vec<chat_domain::UserEvent>, ApiError> {
    let decide = |display_name: Option<String>| {
        User::default().decide(
            &UserCommand {
                actor: user_id,
                at,
                action: UserAction::Register {
                    username: username.to_owned(),
                    display_name,
                },
            },
            &Policy::default(),
        )
    };
    decide(display_name)
        .or_else(|_| decide(None))
        .map_err(domain_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_become_valid_usernames() {
        assert_eq!(sanitize("Alice Example").as_deref(), Some("alice_example"));
        assert_eq!(sanitize("bob@example.com").as_deref(), Some("bob"));
        assert_eq!(sanitize("ü-x").as_deref(), Some("__x"));
        assert_eq!(sanitize("ab"), None);
        assert_eq!(sanitize("___"), None);
        assert_eq!(sanitize(&"a".repeat(40)).map(|s| s.len()), Some(32));
    }

    #[test]
    fn without_a_hint_the_username_comes_from_the_id() {
        let id = Uuid::from_u128(0xabcdef12_3456_7890_abcd_ef1234567890);
        assert_eq!(candidates(id, None)[0], "user_abcdef12");
        assert_eq!(candidates(id, Some("Zoë"))[0], "zo_");
    }
}
