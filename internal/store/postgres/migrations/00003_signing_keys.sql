-- The secrets that sign shoppers' tokens (sale.Keyring), kept in the sale's
-- database so that every server on it signs and checks with the same ones,
-- with no step of an operator's to share them: a token signed by one server
-- is good on any other, and after any restart. The first server to keep a
-- secret under an id wins (INSERT ... ON CONFLICT DO NOTHING) and the rest
-- read it; a secret is never changed, and a rotation is a new id, so tokens
-- signed before it still check. Whoever can read this table can sign
-- tokens: grant it as the sale's other tables, to flashsale alone.

-- +goose Up
CREATE TABLE signing_keys (
    id         text        PRIMARY KEY,  -- what a token names its secret by
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()  -- for an operator: no rule reads it
);

-- +goose Down
DROP TABLE signing_keys;
