-- When a user deleted their account (`UserErased`); their row stays so
-- that their messages and memberships still point at someone, shown as
-- "Deleted user" (docs/decisions/0018-erasure.md).
ALTER TABLE rm_users.users ADD COLUMN IF NOT EXISTS erased_at timestamptz;
