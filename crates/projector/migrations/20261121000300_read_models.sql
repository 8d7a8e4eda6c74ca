-- Read models. Each projection owns one Postgres schema holding its tables
-- and its checkpoint, so a rebuild can fill a fresh copy of the schema
-- (`CREATE TABLE new.t (LIKE live.t INCLUDING ALL)`) and swap it in by
-- renaming schemas in one transaction. Queries always name the schema
-- (`rm_chats.chats`), never rely on search_path.
--
-- Everything here is derived from the event store and can be dropped and
-- rebuilt. `position` columns say which event last touched a row.

-- ─── projection: users ──────────────────────────────────────────────────────
CREATE SCHEMA IF NOT EXISTS rm_users;

CREATE TABLE IF NOT EXISTS rm_users.checkpoint (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint  NOT NULL DEFAULT 0,
    -- occurred_at of the event at `position` (lag in seconds = now - this).
    last_event_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rm_users.checkpoint DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS rm_users.users (
    user_id              uuid        PRIMARY KEY,
    username             text        NOT NULL,
    display_name         text        NOT NULL,
    avatar_url           text,
    bio                  text,
    read_receipts        boolean     NOT NULL DEFAULT true,
    last_seen_visible_to text        NOT NULL DEFAULT 'everyone', -- everyone|contacts|nobody
    accept_requests_from text        NOT NULL DEFAULT 'everyone', -- everyone|nobody
    registered_at        timestamptz NOT NULL,
    last_seen_at         timestamptz,             -- written by the gateway (presence)
    position             bigint      NOT NULL
);
-- Directory search by username / display-name prefix (lower-cased).
CREATE INDEX IF NOT EXISTS users_username_prefix ON rm_users.users (lower(username) text_pattern_ops);
CREATE INDEX IF NOT EXISTS users_display_prefix  ON rm_users.users (lower(display_name) text_pattern_ops);

CREATE TABLE IF NOT EXISTS rm_users.blocks (
    user_id         uuid   NOT NULL,
    blocked_user_id uuid   NOT NULL,
    position        bigint NOT NULL,
    PRIMARY KEY (user_id, blocked_user_id)
);

-- ─── projection: chats (chat list, members, read markers) ──────────────────
CREATE SCHEMA IF NOT EXISTS rm_chats;

CREATE TABLE IF NOT EXISTS rm_chats.checkpoint (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint  NOT NULL DEFAULT 0,
    -- occurred_at of the event at `position` (lag in seconds = now - this).
    last_event_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rm_chats.checkpoint DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS rm_chats.chats (
    chat_id          uuid        PRIMARY KEY,
    kind             text        NOT NULL,            -- direct|group
    title            text,                            -- groups
    description      text,
    avatar_url       text,
    status           text        NOT NULL,            -- pending|active|rejected|blocked|closed
    requester_id     uuid,                            -- direct chats
    recipient_id     uuid,
    -- Direct chats: the request's own state (pending|accepted|rejected) and
    -- who currently blocks the chat; status = blocked while blocked_by is
    -- non-empty, else the request state (accepted shows as active).
    request_status   text,
    blocked_by       uuid[]      NOT NULL DEFAULT '{}',
    owner_id         uuid,                            -- groups
    members_count    integer     NOT NULL DEFAULT 0,  -- current members
    last_seq         bigint      NOT NULL DEFAULT 0,
    message_count    bigint      NOT NULL DEFAULT 0,  -- sent minus deleted-for-everyone
    -- {message_id, seq, sender_id, kind, preview, sent_at}; a deleted or
    -- edited last message is reflected here.
    last_message     jsonb,
    last_activity_at timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    position         bigint      NOT NULL
);

-- Every user who is or was in a chat. Leaving or removal freezes the row
-- (left_seq), so history up to that point stays visible to them.
CREATE TABLE IF NOT EXISTS rm_chats.members (
    chat_id     uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    role        text        NOT NULL,            -- owner|admin|member
    joined_seq  bigint      NOT NULL,            -- sees messages with seq > joined_seq
    joined_at   timestamptz NOT NULL,
    left_seq    bigint,                          -- sees messages with seq <= left_seq; NULL = current
    left_at     timestamptz,
    read_up_to  bigint      NOT NULL DEFAULT 0,
    read_at     timestamptz,
    position    bigint      NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_by_user ON rm_chats.members (user_id);

-- The per-user chat list: one row per (user, chat) the user is or was in,
-- carrying the user's own preferences (from their user stream). Unread
-- counts are computed when read (messages after the read marker, not the
-- user's own, not deleted, not hidden, inside the member's visible range),
-- so every unread rule holds by construction; the count is capped.
CREATE TABLE IF NOT EXISTS rm_chats.user_chats (
    user_id           uuid        NOT NULL,
    chat_id           uuid        NOT NULL,
    last_activity_at  timestamptz NOT NULL,
    muted_until       timestamptz,                -- NULL and muted_forever false = not muted
    muted_forever     boolean     NOT NULL DEFAULT false,
    archived          boolean     NOT NULL DEFAULT false,
    cleared_up_to_seq bigint      NOT NULL DEFAULT 0, -- DELETE /v1/chats/{id}: history up to here hidden
    hidden            boolean     NOT NULL DEFAULT false, -- cleared and nothing newer yet
    position          bigint      NOT NULL,
    PRIMARY KEY (user_id, chat_id)
);
-- The chat list: newest activity first, keyset-paginated.
CREATE INDEX IF NOT EXISTS user_chats_list ON rm_chats.user_chats (user_id, last_activity_at DESC, chat_id DESC);

-- ─── projection: messages (history, reactions, pins, search, hidden) ───────
CREATE SCHEMA IF NOT EXISTS rm_messages;

CREATE TABLE IF NOT EXISTS rm_messages.checkpoint (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint  NOT NULL DEFAULT 0,
    -- occurred_at of the event at `position` (lag in seconds = now - this).
    last_event_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rm_messages.checkpoint DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS rm_messages.messages (
    chat_id     uuid        NOT NULL,
    seq         bigint      NOT NULL,
    message_id  uuid        NOT NULL,
    sender_id   uuid        NOT NULL,
    kind        text        NOT NULL,
    text        text,                    -- NULL once deleted for everyone (tombstone)
    media       jsonb,
    reply_to    jsonb,                   -- {message_id, seq, sender_id}
    forward_of  jsonb,                   -- {chat_id, message_id, original_sender_id, original_sent_at}
    sent_at     timestamptz NOT NULL,
    edited_at   timestamptz,
    deleted_at  timestamptz,
    deleted_by  uuid,
    pinned      boolean     NOT NULL DEFAULT false,
    pinned_at   timestamptz,             -- when last pinned (NULL when not pinned)
    pinned_by   uuid,
    search      tsvector,                -- NULL when deleted
    position    bigint      NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON rm_messages.messages (message_id);
-- Built with the 'simple' configuration (see docs/decisions/0004): queries
-- must use websearch_to_tsquery('simple', q) for the index to apply.
CREATE INDEX IF NOT EXISTS messages_search ON rm_messages.messages USING gin (search);
-- Pinned messages of a chat (chat details).
CREATE INDEX IF NOT EXISTS messages_pinned ON rm_messages.messages (chat_id, seq) WHERE pinned;

CREATE TABLE IF NOT EXISTS rm_messages.reactions (
    message_id uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    emoji      text        NOT NULL,
    chat_id    uuid        NOT NULL,
    reacted_at timestamptz NOT NULL,
    position   bigint      NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

-- Delete-for-me.
CREATE TABLE IF NOT EXISTS rm_messages.hidden (
    user_id    uuid   NOT NULL,
    message_id uuid   NOT NULL,
    chat_id    uuid   NOT NULL,
    seq        bigint NOT NULL,
    position   bigint NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX IF NOT EXISTS hidden_by_chat ON rm_messages.hidden (user_id, chat_id, seq);
