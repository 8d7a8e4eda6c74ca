-- Sessions: one row per refresh-token family (one login on one device),
-- so a user can see where they are signed in and sign a device out. The
-- family id is the session id, carried as `sid` in its access tokens.

CREATE TABLE IF NOT EXISTS auth_sessions (
    session_id   uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    -- The last login or refresh: the session ends refresh_ttl after it.
    last_used_at timestamptz NOT NULL,
    -- As the client said and where it came from, at the last use.
    user_agent   text NULL,
    ip           text NULL,
    -- Logout, revocation, reuse detection, a password change or reset.
    revoked_at   timestamptz NULL
);

CREATE INDEX IF NOT EXISTS auth_sessions_user_idx ON auth_sessions (user_id);
-- What every node's verifier polls: sessions revoked while their access
-- tokens may still be alive.
CREATE INDEX IF NOT EXISTS auth_sessions_revoked_idx ON auth_sessions (revoked_at)
    WHERE revoked_at IS NOT NULL;

-- Families from before sessions were kept: what their tokens tell.
INSERT INTO auth_sessions (session_id, user_id, created_at, last_used_at, revoked_at)
SELECT family_id, min(user_id::text)::uuid, min(issued_at), max(issued_at), max(revoked_at)
  FROM refresh_tokens
 GROUP BY family_id
ON CONFLICT (session_id) DO NOTHING;
