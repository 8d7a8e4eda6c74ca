-- The event store: one row per event, the only source of truth.
--
-- `position` is assigned by the appender under a transaction-scoped advisory
-- lock as max(position) + 1: gapless, and visible strictly in order (see
-- docs/decisions/0002-gap-safe-global-order.md). No sequence is used on purpose:
-- sequences hand out numbers at insert time that become visible at commit time,
-- which is exactly what lets a naive tail skip events.
CREATE TABLE IF NOT EXISTS events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL,
    stream          text        NOT NULL,
    version         bigint      NOT NULL CHECK (version >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    subject         uuid,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream, version)
);

-- One message's history (edits, deletes, reactions, pins) without reading its chat.
CREATE INDEX IF NOT EXISTS events_stream_subject_idx
    ON events (stream, subject, version) WHERE subject IS NOT NULL;
