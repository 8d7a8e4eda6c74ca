-- Credentials and refresh tokens of the built-in auth (crates/command-api/src/auth).
-- Secrets live here, never in events: passwords as Argon2id PHC strings,
-- refresh tokens only as the SHA-256 of the token.

CREATE TABLE IF NOT EXISTS auth_credentials (
    user_id       uuid PRIMARY KEY,
    -- Normalized (trimmed, lowercased) exactly as in the UserRegistered event.
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    -- Granted by an operator, e.g. '{auditor}'; copied into access tokens.
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash bytea PRIMARY KEY,
    -- Every token issued by rotating one login's tokens shares the family.
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- Set when the token was exchanged for a new pair; presenting it again is reuse.
    rotated_at timestamptz NULL,
    -- Set on every row of a family by logout or by reuse detection.
    revoked_at timestamptz NULL
);

CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_idx ON refresh_tokens (user_id);
