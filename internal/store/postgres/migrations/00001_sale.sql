-- The sale is its events: every change the rules made, in commit order.
-- Replaying them from the last reset rebuilds the sale (internal/rules).
-- Every server appends to the same table; the one row of sale is the lock
-- they take in turn (SELECT ... FOR UPDATE) and the number of the newest
-- event, so numbers run without a gap (a sequence could skip).

-- +goose Up
CREATE TABLE sale (
    id       smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    last_seq bigint   NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO sale (id, last_seq) VALUES (1, 0);

CREATE TABLE sale_events (
    seq            bigint      PRIMARY KEY,
    kind           text        NOT NULL,
    at             timestamptz NOT NULL,
    user_id        text        NOT NULL DEFAULT '',
    reservation_id text        NOT NULL DEFAULT '',
    position       bigint      NOT NULL DEFAULT 0,
    expires_at     timestamptz,
    total          bigint      NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE sale_events;
DROP TABLE sale;
