-- Delivery log, SQLite dialect. Safe to run more than once.
--
-- STRICT makes SQLite enforce the declared column types, and the CHECKs
-- enforce what the query relies on: a known status, and a timestamp that is
-- UTC text in exactly the form YYYY-MM-DD HH:MM:SS, so that comparing two
-- timestamps as text compares them in time. datetime(x, '+0 seconds') forces
-- SQLite to recompute the value from its Julian day, which turns
-- '2024-09-31 10:00:00' into '2024-10-01 10:00:00'; comparing with IS (not =)
-- also rejects text that datetime() cannot parse at all (it returns NULL, and a
-- CHECK that evaluates to NULL passes).
CREATE TABLE IF NOT EXISTS deliveries (
    id                INTEGER PRIMARY KEY,
    driver_id         INTEGER NOT NULL,
    delivery_status   TEXT    NOT NULL
        CHECK (delivery_status IN ('COMPLETED', 'FAILED', 'LATE')),
    attempt_timestamp TEXT    NOT NULL
        CHECK (attempt_timestamp IS datetime(attempt_timestamp, '+0 seconds'))
) STRICT;

-- Serves the monthly query on its own. It leads with the month of each row,
-- the same expression the query's WHERE clause uses (SQLite uses an index on
-- an expression only for that expression, written the same way), so one
-- month is one equality: a contiguous slice of the index, in which rows are
-- already in driver_id order, and the GROUP BY streams through it without a
-- sort. delivery_status is the one other column the query reads.
CREATE INDEX IF NOT EXISTS deliveries_month_bucket
    ON deliveries (substr(attempt_timestamp, 1, 7), driver_id, delivery_status);
