-- Tamper evidence: every event carries hash = sha256(previous hash of its
-- stream ‖ canonical envelope), computed at append (see src/chain.rs).
-- Editing any stored event breaks its stream's chain from that event on.
ALTER TABLE events ADD COLUMN IF NOT EXISTS hash bytea;
