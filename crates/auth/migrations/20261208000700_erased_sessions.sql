-- The sessions of deleted accounts, by id only: their rows went with the
-- credentials (user agent and address are personal data), but their
-- access tokens stay valid until they expire unless every node keeps
-- refusing them (`sessions::watch_revocations`). Nothing else is kept.
CREATE TABLE IF NOT EXISTS auth_erased_sessions (
    session_id uuid        PRIMARY KEY,
    erased_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_erased_sessions_at_idx ON auth_erased_sessions (erased_at);
