-- The sale is its events: every change the rules made, in commit order.
-- Replaying them from the last reset rebuilds the sale (internal/rules).
-- Times are Unix microseconds (sale.Precision).

-- +goose Up
CREATE TABLE sale_events (
    seq            INTEGER PRIMARY KEY,  -- gapless, one after another
    kind           TEXT    NOT NULL,
    at_us          INTEGER NOT NULL,
    user_id        TEXT    NOT NULL DEFAULT '',
    reservation_id TEXT    NOT NULL DEFAULT '',
    position       INTEGER NOT NULL DEFAULT 0,
    expires_us     INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL DEFAULT 0
) STRICT;

-- +goose Down
DROP TABLE sale_events;
