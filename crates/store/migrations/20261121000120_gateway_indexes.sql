-- Indexes of the WebSocket gateway's exact resume (crates/gateway/src/replay.rs).
--
-- A resume reads one user's streams after a position: each stream through
-- (stream, position), merged by position, so its cost follows the user's
-- events and not the size of the log.
CREATE INDEX IF NOT EXISTS events_stream_position_idx ON events (stream, position);

-- The user's membership at the resume position: the newest membership event
-- about them in each chat, found without walking the chat's messages.
CREATE INDEX IF NOT EXISTS events_membership_idx ON events (stream, position)
    WHERE event_type IN ('GroupCreated', 'MembersAdded', 'MemberRemoved',
                         'MemberLeft', 'DirectChatRequested');
