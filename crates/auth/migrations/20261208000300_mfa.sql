-- TOTP multi-factor auth (RFC 6238). The secret is sealed under the master
-- key (chat_common::sealing), never stored in the clear nor in events.

CREATE TABLE IF NOT EXISTS auth_totp (
    user_id     uuid PRIMARY KEY REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    -- NULL while set up but not yet confirmed with a first code.
    enabled_at  timestamptz NULL,
    -- The last time step whose code was accepted: each code works once.
    last_step   bigint NOT NULL DEFAULT 0
);

-- Single-use recovery codes, as SHA-256 (80 random bits each).
CREATE TABLE IF NOT EXISTS auth_recovery_codes (
    user_id   uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- The second step of a login: a password was right, a code is awaited.
CREATE TABLE IF NOT EXISTS auth_mfa_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    -- Wrong codes so far: the fifth ends the challenge.
    failures   int NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS auth_mfa_challenges_user_idx ON auth_mfa_challenges (user_id);
