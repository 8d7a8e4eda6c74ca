-- Aggregate snapshots: a folded state with the stream version and position
-- it reflects, so a cold node does not fold a long stream from version 1.
-- Purely an optimisation: deleting every row is always safe.
CREATE TABLE IF NOT EXISTS aggregate_snapshots (
    stream      text        PRIMARY KEY,
    -- Bumped when the aggregate's state shape or evolve logic changes;
    -- snapshots of another schema are ignored.
    schema      integer     NOT NULL,
    version     bigint      NOT NULL,
    position    bigint      NOT NULL,
    state       jsonb       NOT NULL,
    taken_at    timestamptz NOT NULL DEFAULT now()
);
