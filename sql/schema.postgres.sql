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

-- Serves the monthly query on its own. It leads with the month of each row,
-- the same expression the query's WHERE clause uses, so one month is one
-- equality: a contiguous slice of the index, in which rows are already in
-- driver_id order, and the aggregate is a GroupAggregate with no sort and no
-- hash table. date_trunc on a timestamp without time zone is IMMUTABLE, so it
-- may be indexed (to_char and casts to text are not).
--
-- INCLUDE (attempt_timestamp) is for the planner, not the query: PostgreSQL
-- considers an index-only scan only if every column the query mentions is in
-- the index, and it does not notice that attempt_timestamp appears only
-- inside the indexed expression. Without it the plan reads the heap (a bitmap
-- heap scan and a hash aggregate).
CREATE INDEX IF NOT EXISTS deliveries_month_bucket
    ON deliveries (date_trunc('month', attempt_timestamp), driver_id, delivery_status)
    INCLUDE (attempt_timestamp);
