-- The status a user chose (`StatusChanged`: online|away|dnd|invisible, an
-- optional text and end), for the gateway's start-up snapshot and the
-- queries. NULL: never set.
ALTER TABLE rm_users.users ADD COLUMN IF NOT EXISTS status text;
ALTER TABLE rm_users.users ADD COLUMN IF NOT EXISTS status_text text;
ALTER TABLE rm_users.users ADD COLUMN IF NOT EXISTS status_expires_at timestamptz;
