-- Channels (kind = 'channel'): a public one is found by title prefix
-- (`GET /v1/chats/search`). Subscribers are member rows like any other;
-- a channel's members_count is kept by increments, since counting its rows
-- on every subscription would cost O(subscribers).
ALTER TABLE rm_chats.chats ADD COLUMN IF NOT EXISTS public boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS chats_public_title
    ON rm_chats.chats (lower(title) text_pattern_ops) WHERE public;
