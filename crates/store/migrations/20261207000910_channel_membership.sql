-- Channels join the membership events (chat_domain::MEMBERSHIP_TYPES): the
-- gateway's resume finds a subscriber's newest subscription or leave per
-- chat through this partial index, as it does a member's.
DROP INDEX IF EXISTS events_membership_idx;
CREATE INDEX IF NOT EXISTS events_membership_idx ON events (stream, position)
    WHERE event_type IN ('GroupCreated', 'MembersAdded', 'MemberRemoved',
                         'MemberLeft', 'DirectChatRequested', 'ChannelCreated',
                         'ChannelSubscribed', 'ChannelUnsubscribed');
