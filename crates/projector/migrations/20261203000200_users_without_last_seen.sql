-- Last seen is the gateway's (`gateway.last_seen`, which took over what was
-- written here): the users read model holds only what events say.
ALTER TABLE rm_users.users DROP COLUMN IF EXISTS last_seen_at;
