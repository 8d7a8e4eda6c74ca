-- System entries in history: who joined, left, was removed or banned,
-- role and ownership changes, info changes, pins. One row per event that
-- shows one (`chat::system::entry`), keyed by its log position and placed
-- after the message that was last when it happened (`after_seq`); entries
-- take no seq, so they are never unread.
CREATE TABLE IF NOT EXISTS rm_messages.system_entries (
    chat_id    uuid        NOT NULL,
    position   bigint      NOT NULL,
    after_seq  bigint      NOT NULL,
    action     text        NOT NULL,
    actor_id   uuid,
    user_ids   uuid[]      NOT NULL DEFAULT '{}',
    title      text,
    role       text,
    message_id uuid,
    message_seq bigint,                          -- a pin's message: shown only to who sees it
    at         timestamptz NOT NULL,
    PRIMARY KEY (chat_id, position)
);
-- History pages merge entries with messages by (after_seq, position).
CREATE INDEX IF NOT EXISTS system_entries_by_seq
    ON rm_messages.system_entries (chat_id, after_seq, position);

-- Which entries a member sees is decided in log positions
-- (`visibility::Span`): from the event that made them a member through the
-- one that ended it, after their last clear. Rows written before this
-- migration get the closest positions they have; `chat rebuild` makes them
-- exact (and writes the entries of events older than this table).
ALTER TABLE rm_chats.members ADD COLUMN IF NOT EXISTS joined_pos bigint NOT NULL DEFAULT 0;
ALTER TABLE rm_chats.members ADD COLUMN IF NOT EXISTS left_pos bigint;
UPDATE rm_chats.members SET left_pos = position WHERE left_seq IS NOT NULL AND left_pos IS NULL;
ALTER TABLE rm_chats.user_chats ADD COLUMN IF NOT EXISTS cleared_pos bigint NOT NULL DEFAULT 0;
UPDATE rm_chats.user_chats SET cleared_pos = position WHERE cleared_up_to_seq > 0 AND cleared_pos = 0;
