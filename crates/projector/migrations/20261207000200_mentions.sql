-- Mentions: the members a message mentions (`MessageSent.mentions`), for
-- the chat list's `mention_count` (unread messages that mention the
-- reader) and the history's `mentions`. Events before mentions carry none.
ALTER TABLE rm_messages.messages ADD COLUMN IF NOT EXISTS mentions uuid[] NOT NULL DEFAULT '{}';
