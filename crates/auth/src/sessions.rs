//! Sessions: each login opens one (its refresh-token family, whose id is
//! the `sid` of its access tokens), recording when and from which client
//! and address it was opened and last used. A user lists theirs and signs
//! one out, or every other one; a password change or reset signs the
//! others out.
//!
//! Signing a session out revokes its refresh tokens and, because access
//! tokens are not looked up per request, puts it in the verifier's
//! [`RevokedSessions`]: at once on this node, within a second on every
//! other ([`watch_revocations`]).

use std::collections::HashSet;
use std::time::Duration;

use chat_common::ApiError;
use chat_common::auth::RevokedSessions;
use chat_common::http::ClientInfo;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::{AuthService, db_error};

/// One place a user is signed in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub session_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session of the token that asked.
    pub current: bool,
}

type SessionRow = (
    Uuid,
    OffsetDateTime,
    OffsetDateTime,
    Option<String>,
    Option<String>,
);

/// Record a new session `id` for `user`.
pub(super) async fn open(
    conn: &mut PgConnection,
    id: Uuid,
    user: Uuid,
    now: OffsetDateTime,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO auth_sessions (session_id, user_id, created_at, last_used_at, user_agent, ip)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(id)
    .bind(user)
    .bind(now)
    .bind(&client.user_agent)
    .bind(client.ip.map(|ip| ip.to_string()))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A refresh in session `id`: when, and from where (kept when unknown).
pub(super) async fn touch(
    conn: &mut PgConnection,
    id: Uuid,
    now: OffsetDateTime,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE auth_sessions SET last_used_at = $2,
                user_agent = coalesce($3, user_agent), ip = coalesce($4, ip)
          WHERE session_id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(&client.user_agent)
    .bind(client.ip.map(|ip| ip.to_string()))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Which of `user`'s live sessions to sign out.
#[derive(Debug, Clone, Copy)]
pub(super) enum Which {
    One(Uuid),
    AllBut(Option<Uuid>),
}

/// Sign out `user`'s sessions that `which` names, with their refresh
/// tokens, through `conn` (the caller's transaction); the ones it revoked.
/// The caller hands them to [`AuthService::forget`] once committed.
pub(super) async fn revoke(
    conn: &mut PgConnection,
    user: Uuid,
    which: Which,
    now: OffsetDateTime,
) -> Result<Vec<Uuid>, ApiError> {
    let (one, keep) = match which {
        Which::One(id) => (Some(id), None),
        Which::AllBut(keep) => (None, keep),
    };
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE auth_sessions SET revoked_at = $2
          WHERE user_id = $1 AND revoked_at IS NULL
            AND ($3::uuid IS NULL OR session_id = $3)
            AND ($4::uuid IS NULL OR session_id <> $4)
      RETURNING session_id",
    )
    .bind(user)
    .bind(now)
    .bind(one)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = ANY($1) AND revoked_at IS NULL",
    )
    .bind(&ids)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(ids)
}

impl AuthService {
    /// This node refuses the sessions' access tokens from now on (the
    /// others within a second).
    pub(super) fn forget(&self, sessions: &[Uuid]) {
        for s in sessions {
            self.verifier.revoked().insert(*s);
        }
    }

    /// `user`'s live sessions, the most recently used first; `current`
    /// marks the caller's.
    pub async fn sessions(
        &self,
        user: Uuid,
        current: Option<Uuid>,
    ) -> Result<Vec<Session>, ApiError> {
        let since = OffsetDateTime::now_utc() - self.config.refresh_ttl;
        let rows: Vec<SessionRow> = sqlx::query_as(
            "SELECT session_id, created_at, last_used_at, user_agent, ip FROM auth_sessions
                  WHERE user_id = $1 AND revoked_at IS NULL AND last_used_at > $2
                  ORDER BY last_used_at DESC, session_id",
        )
        .bind(user)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, created_at, last_used_at, user_agent, ip)| Session {
                session_id: id,
                created_at,
                last_used_at,
                user_agent,
                ip,
                current: Some(id) == current,
            })
            .collect())
    }

    /// Sign out one of `user`'s sessions (the caller's own too: a logout
    /// without the refresh token). `false` when they have no such live one.
    pub async fn sign_out(&self, user: Uuid, session: Uuid) -> Result<bool, ApiError> {
        self.sign_out_which(user, Which::One(session))
            .await
            .map(|ids| !ids.is_empty())
    }

    /// Sign out every session of `user` but `keep` (the caller's); how many.
    pub async fn sign_out_others(&self, user: Uuid, keep: Option<Uuid>) -> Result<usize, ApiError> {
        self.sign_out_which(user, Which::AllBut(keep))
            .await
            .map(|ids| ids.len())
    }

    async fn sign_out_which(&self, user: Uuid, which: Which) -> Result<Vec<Uuid>, ApiError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let ids = revoke(&mut tx, user, which, OffsetDateTime::now_utc()).await?;
        tx.commit().await.map_err(db_error)?;
        self.forget(&ids);
        tracing::info!(%user, signed_out = ids.len(), "sessions signed out");
        Ok(ids)
    }
}

/// Keep `revoked` equal to the sessions signed out within `window` (the
/// access tokens' lifetime and leeway: older ones' tokens have expired),
/// reloaded each second until `stop`. A failed reload keeps the last set.
pub fn watch_revocations(
    pool: PgPool,
    revoked: RevokedSessions,
    window: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let loaded: Result<Vec<Uuid>, _> = sqlx::query_scalar(
                "SELECT session_id FROM auth_sessions
                  WHERE revoked_at > now() - make_interval(secs => $1)
                 UNION ALL
                 SELECT session_id FROM auth_erased_sessions
                  WHERE erased_at > now() - make_interval(secs => $1)",
            )
            .bind(window.as_secs_f64())
            .fetch_all(&pool)
            .await;
            match loaded {
                Ok(ids) => revoked.replace(ids.into_iter().collect::<HashSet<_>>()),
                Err(e) => tracing::warn!(error = %e, "cannot reload the signed-out sessions"),
            }
        }
    })
}
