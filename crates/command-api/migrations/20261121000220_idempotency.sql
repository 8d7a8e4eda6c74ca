-- Durable answers to commands sent with an `Idempotency-Key` (design.md, hard
-- problem 2). One row per (actor, key): the request's fingerprint and the exact
-- response that was sent. Rows older than the retention window count as absent
-- and are purged periodically (hence the index on created_at).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    actor       uuid        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    status      smallint    NOT NULL,
    body        bytea       NOT NULL,
    headers     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);

CREATE INDEX IF NOT EXISTS idempotency_keys_created_at_idx
    ON idempotency_keys (created_at);
