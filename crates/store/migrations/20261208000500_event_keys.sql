-- The data keys that seal personal data in events (crypto-shredding; see
-- docs/decisions/0018-erasure.md). A key is named by what it seals (a
-- message id, or a user id for their profile) and owned by the user whose
-- data it is; `wrapped` is the key sealed by the master key (MASTER_KEY).
-- Deleting a row makes every event sealed under it read as its blanked
-- form for ever: a message deleted for everyone deletes its key, a deleted
-- account deletes every key it owns. Rows are never updated except to
-- re-wrap them under a new master key.
CREATE TABLE IF NOT EXISTS event_keys (
    key_id     uuid        PRIMARY KEY,
    owner      uuid        NOT NULL,
    wrapped    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS event_keys_owner_idx ON event_keys (owner);
