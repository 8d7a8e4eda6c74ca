-- When each user was last seen online: written by the gateway nodes when a
-- user's last socket closes (presence is ephemeral, its end is not), read by
-- the queries as the user's privacy settings allow. Not derived from the
-- event log, so it lives outside the read models, which a rebuild replaces.
CREATE SCHEMA IF NOT EXISTS gateway;

CREATE TABLE IF NOT EXISTS gateway.last_seen (
    user_id uuid        PRIMARY KEY,
    at      timestamptz NOT NULL
);

-- Before this table the gateway wrote `rm_users.users.last_seen_at`; keep
-- what it wrote (the read-model migration that drops the column runs after
-- this one; on a new database there is nothing to keep).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = 'rm_users' AND table_name = 'users'
                  AND column_name = 'last_seen_at') THEN
        INSERT INTO gateway.last_seen (user_id, at)
        SELECT user_id, last_seen_at FROM rm_users.users WHERE last_seen_at IS NOT NULL
        ON CONFLICT (user_id) DO NOTHING;
    END IF;
END $$;
