-- E-mail addresses and the one-time codes mailed to them (address
-- verification, password reset). Addresses are personal data kept here,
-- never in events; codes only as their SHA-256.

ALTER TABLE auth_credentials
    ADD COLUMN IF NOT EXISTS email text NULL,
    ADD COLUMN IF NOT EXISTS email_verified_at timestamptz NULL;

-- A confirmed address belongs to one account (password resets find the
-- account by it).
CREATE UNIQUE INDEX IF NOT EXISTS auth_credentials_email_idx
    ON auth_credentials (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE IF NOT EXISTS auth_mail_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES auth_credentials (user_id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    -- The address the code was mailed to (for verification: the one it confirms).
    email      text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);

CREATE INDEX IF NOT EXISTS auth_mail_codes_user_idx ON auth_mail_codes (user_id);
