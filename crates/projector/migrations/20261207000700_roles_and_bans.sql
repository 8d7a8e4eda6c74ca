-- Moderators (members.role may now be `moderator`) and bans: who is banned
-- from which group, by whom, until when and why, while the ban stands.
CREATE TABLE IF NOT EXISTS rm_chats.bans (
    chat_id    uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    banned_by  uuid        NOT NULL,
    until      timestamptz,                      -- NULL: until lifted
    reason     text,
    banned_at  timestamptz NOT NULL,
    position   bigint      NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
