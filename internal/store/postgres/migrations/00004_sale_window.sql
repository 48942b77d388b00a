-- A sale's window (internal/sale/window.go): the scheduled event keeps the
-- opening, the close and the draw's seed. The seed is secret until the draw
-- (/status reveals it then): whoever reads this table before the opening
-- knows the draw's order; guard it as the sale itself.

-- +goose Up
ALTER TABLE sale_events ADD COLUMN opens_at  timestamptz;
ALTER TABLE sale_events ADD COLUMN closes_at timestamptz;
ALTER TABLE sale_events ADD COLUMN seed      bytea;

-- +goose Down
ALTER TABLE sale_events DROP COLUMN seed;
ALTER TABLE sale_events DROP COLUMN closes_at;
ALTER TABLE sale_events DROP COLUMN opens_at;
