-- Unread totals (GET /v1/me, the push badge) count a member's window by its
-- bounds (a chat's seqs are gapless) less what is excluded in it: their own
-- messages and deleted ones, found through these two indexes, and what they
-- hid (hidden_by_chat). The cost follows what is excluded, not the backlog.
CREATE INDEX IF NOT EXISTS messages_by_sender ON rm_messages.messages (chat_id, sender_id, seq);
CREATE INDEX IF NOT EXISTS messages_deleted ON rm_messages.messages (chat_id, seq)
    WHERE deleted_at IS NOT NULL;
