-- Messages deleted for everyone, found without walking a chat's messages:
-- a resume (crates/gateway/src/replay.rs) sends a message deleted since the
-- resume position as a tombstone, so it looks up the deletions after that
-- position in the user's chats first.
CREATE INDEX IF NOT EXISTS events_deleted_idx ON events (stream, position)
    WHERE event_type = 'MessageDeleted';
