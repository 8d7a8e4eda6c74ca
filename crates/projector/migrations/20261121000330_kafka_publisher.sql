-- The Kafka publisher's progress: per topic, the global position of the last
-- event the broker acknowledged. It only moves after every event of a batch
-- is acked, so a restart re-sends at most one un-acked batch (at-least-once;
-- consumers dedupe on the event id).
CREATE SCHEMA IF NOT EXISTS kafka_publisher;

CREATE TABLE IF NOT EXISTS kafka_publisher.checkpoints (
    topic          text        PRIMARY KEY,
    position       bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    last_event_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
