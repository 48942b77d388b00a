-- Idempotency keys: each keyed change's call and answer, kept in the same
-- transaction as the change's events, so that a retry after a crash or a
-- restart is answered as the first attempt was, never made twice.
-- Insert-only: a key used again after its TTL gets a row of its own (the
-- newest counts), so that a commit never rewrites what one before it kept.
-- Times are Unix microseconds (sale.Precision), like sale_events'.

-- +goose Up
CREATE TABLE sale_keys (
    scope  TEXT    NOT NULL,  -- whose key: the user, the reservation, the admin
    key    TEXT    NOT NULL,
    at_us  INTEGER NOT NULL,  -- when the call was made
    record TEXT    NOT NULL,  -- the call and its answer (store.EncodeKeyRecord)
    PRIMARY KEY (scope, key, at_us)
) STRICT;

-- Each commit forgets the expired keys and, beyond MaxKeys, the oldest:
-- both are found by time.
CREATE INDEX sale_keys_at ON sale_keys (at_us);

-- +goose Down
DROP TABLE sale_keys;
