-- Deleted uploads: the messages that carried one show it as removed
-- (`media.removed`, set on `MediaDeleted`), found by the media's id.
CREATE INDEX IF NOT EXISTS messages_by_media ON rm_messages.messages ((media ->> 'media_id'))
    WHERE media IS NOT NULL;
