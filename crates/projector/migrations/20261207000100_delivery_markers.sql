-- Delivery receipts: each member's delivery marker (what their devices
-- acknowledged receiving), next to the read marker. Reading implies
-- delivery; readers take the larger of the two. No event before this
-- version moved one, so existing rows start at their join point.
ALTER TABLE rm_chats.members ADD COLUMN IF NOT EXISTS delivered_up_to bigint NOT NULL DEFAULT 0;
ALTER TABLE rm_chats.members ADD COLUMN IF NOT EXISTS delivered_at timestamptz;
UPDATE rm_chats.members SET delivered_up_to = joined_seq WHERE delivered_up_to < joined_seq;
