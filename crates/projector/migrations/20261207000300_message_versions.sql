-- Edit history: each edit copies the text it replaces here, with when that
-- text was written (the send, or the edit before), keyed by the edit's
-- position. `GET …/messages/{id}/edits` answers these and the current text.
-- A delete for everyone removes a message's versions with its text.
CREATE TABLE IF NOT EXISTS rm_messages.versions (
    chat_id     uuid        NOT NULL,
    seq         bigint      NOT NULL,
    replaced_at bigint      NOT NULL,            -- position of the edit that replaced it
    text        text        NOT NULL,
    written_at  timestamptz NOT NULL,
    PRIMARY KEY (chat_id, seq, replaced_at)
);
