-- ─── projection: media ──────────────────────────────────────────────────────
-- Uploads (MediaUploaded/MediaDeleted on the uploader's stream) and which
-- messages reference them (MessageSent with media, MessageDeleted), for
-- download authorization and the cleanup job. The event store stays the
-- source of truth: sending media checks the uploader's stream, not this.
CREATE SCHEMA IF NOT EXISTS rm_media;

CREATE TABLE IF NOT EXISTS rm_media.checkpoint (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint  NOT NULL DEFAULT 0,
    last_event_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rm_media.checkpoint DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS rm_media.media (
    media_id    uuid        PRIMARY KEY,
    owner_id    uuid        NOT NULL,
    kind        text        NOT NULL,            -- image|video|audio|voice|file
    mime        text        NOT NULL,
    size        bigint      NOT NULL,
    sha256      text        NOT NULL,
    width       integer,
    height      integer,
    duration_ms bigint,
    file_name   text,
    uploaded_at timestamptz NOT NULL,
    deleted_at  timestamptz,                     -- blob gone (MediaDeleted)
    position    bigint      NOT NULL
);
-- The cleanup job scans live uploads by age.
CREATE INDEX IF NOT EXISTS media_live_by_age ON rm_media.media (uploaded_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS rm_media.refs (
    media_id   uuid    NOT NULL,
    chat_id    uuid    NOT NULL,
    message_id uuid    NOT NULL,
    seq        bigint  NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,   -- the message was deleted for everyone
    position   bigint  NOT NULL,
    PRIMARY KEY (media_id, message_id)
);
CREATE INDEX IF NOT EXISTS refs_by_message ON rm_media.refs (chat_id, seq);
