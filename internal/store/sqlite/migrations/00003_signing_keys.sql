-- The secrets that sign shoppers' tokens (sale.Keyring), kept with the sale
-- so that a token outlives a restart: a server that made up a new secret
-- each start would void every token it had signed. The first secret kept
-- under an id is the one for good (INSERT ... ON CONFLICT DO NOTHING), never
-- changed; a rotation is a new id, so tokens signed before it still check.
-- Whoever can read this file can sign tokens: guard it as the sale itself.

-- +goose Up
CREATE TABLE signing_keys (
    id         TEXT    PRIMARY KEY,  -- what a token names its secret by
    secret     BLOB    NOT NULL,
    created_us INTEGER NOT NULL      -- Unix microseconds, for an operator: no rule reads it
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
