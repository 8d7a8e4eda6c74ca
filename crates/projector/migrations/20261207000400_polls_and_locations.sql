-- Polls and locations (message kinds `poll` and `location`): the body of
-- each as sent, a poll's closing, and every member's current ballot. Votes
-- are rows per voter, so a re-vote replaces and results are counted when
-- read. A delete for everyone removes a message's votes with its body.
ALTER TABLE rm_messages.messages ADD COLUMN IF NOT EXISTS poll jsonb;
ALTER TABLE rm_messages.messages ADD COLUMN IF NOT EXISTS location jsonb;
ALTER TABLE rm_messages.messages ADD COLUMN IF NOT EXISTS poll_closed_at timestamptz;
CREATE TABLE IF NOT EXISTS rm_messages.votes (
    message_id uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    option_ids int[]       NOT NULL,
    voted_at   timestamptz NOT NULL,
    position   bigint      NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
