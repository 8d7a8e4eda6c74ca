//! What the auth side holds of a user, for their data export
//! (`GET /v1/me/export`): username, address, roles, sessions, whether TOTP
//! is on. Never a secret: no password hash, sealed TOTP secret, recovery
//! code or token.

use sqlx::PgPool;
use uuid::Uuid;

/// One `{"type": "account", …}` object; `None` for a user without
/// credentials here.
pub async fn account(pool: &PgPool, user: Uuid) -> sqlx::Result<Option<serde_json::Value>> {
    sqlx::query_scalar(
        "SELECT jsonb_build_object(
                  'type', 'account', 'username', c.username, 'created_at', c.created_at,
                  'external', c.password_hash = $2, 'roles', c.roles,
                  'email', c.email, 'email_verified_at', c.email_verified_at,
                  'mfa_enabled', EXISTS (SELECT 1 FROM auth_totp t
                                          WHERE t.user_id = c.user_id AND t.enabled_at IS NOT NULL),
                  'sessions', coalesce((
                      SELECT jsonb_agg(jsonb_build_object(
                               'session_id', s.session_id, 'created_at', s.created_at,
                               'last_used_at', s.last_used_at, 'user_agent', s.user_agent,
                               'ip', s.ip, 'revoked_at', s.revoked_at) ORDER BY s.created_at)
                        FROM auth_sessions s WHERE s.user_id = c.user_id), '[]'::jsonb))
           FROM auth_credentials c WHERE c.user_id = $1",
    )
    .bind(user)
    .bind(crate::profile::NO_PASSWORD)
    .fetch_optional(pool)
    .await
}
