-- Delivery log, PostgreSQL dialect. Safe to run more than once.
--
-- attempt_timestamp is a UTC timestamp without time zone: it holds the same
-- wall-clock text as the SQLite schema, so one INSERT loads both.
CREATE TABLE IF NOT EXISTS deliveries (
    id                bigint    PRIMARY KEY,
    driver_id         integer   NOT NULL,
    delivery_status   text      NOT NULL
        CHECK (delivery_status IN ('COMPLETED', 'FAILED', 'LATE')),
    attempt_timestamp timestamp NOT NULL
);

-- Serves the monthly query on its own: the leading column turns the month
-- into one contiguous range of the index, and the other two columns are all
-- the query reads, so after VACUUM (which sets the visibility map) the plan is
-- an index-only scan that never visits the heap.
CREATE INDEX IF NOT EXISTS deliveries_month_driver_status
    ON deliveries (attempt_timestamp, driver_id, delivery_status);
