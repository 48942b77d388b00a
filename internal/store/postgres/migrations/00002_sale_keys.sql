-- Idempotency keys: each keyed change's call and answer, kept in the same
-- transaction as the change's events, so that a retry reaching any server,
-- after any restart, is answered as the first attempt was, never made
-- twice. Insert-only: a key used again after its TTL gets a row of its own
-- (the newest counts), so that a commit never rewrites what one before it
-- kept.
--
-- sale.keys is how many rows sale_keys holds, kept exact by every batch
-- that changes them (in the row each batch locks), so that forgetting the
-- oldest beyond MaxKeys needs no count(*) of a table of a million keys per
-- commit. Whoever deletes keys by hand sets it again:
--   UPDATE sale SET keys = (SELECT count(*) FROM sale_keys);

-- +goose Up
CREATE TABLE sale_keys (
    scope  text        NOT NULL,  -- whose key: the user, the reservation, the admin
    key    text        NOT NULL,
    at     timestamptz NOT NULL,  -- when the call was made
    record text        NOT NULL,  -- the call and its answer (store.EncodeKeyRecord)
    PRIMARY KEY (scope, key, at)
);

-- Each commit forgets the expired keys and, beyond MaxKeys, the oldest:
-- both are found by time.
CREATE INDEX sale_keys_at ON sale_keys (at);

ALTER TABLE sale ADD COLUMN keys bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sale DROP COLUMN keys;
DROP TABLE sale_keys;
