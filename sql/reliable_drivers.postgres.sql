-- Reliable drivers for September 2024, PostgreSQL dialect: at least 5
-- COMPLETED deliveries in the month and a success rate (COMPLETED / all
-- deliveries in the month) of at least 90%. Runs as it is in psql against
-- schema.postgres.sql.
--
-- The month is named by one literal, in the WHERE clause. The Go code binds
-- other months by replacing it with a parameter, so it must appear exactly
-- once in this file, comments included (see internal/drivers/query.go).
WITH per_driver AS (
    SELECT driver_id,
           COUNT(*) AS total_deliveries,
           SUM(CASE WHEN delivery_status = 'COMPLETED' THEN 1 ELSE 0 END) AS completed
    FROM deliveries
    -- On a timestamp (without time zone), date_trunc('month', t) equals the
    -- first instant of a month exactly when t lies in the half-open range
    -- from that instant to the first instant of the next month: all of
    -- 30 September, none of 1 October. Written as an equality on the very
    -- expression the index leads with, it picks one month of the index, in
    -- driver order, and the GROUP BY streams without a sort.
    WHERE date_trunc('month', attempt_timestamp) = TIMESTAMP '2024-09-01 00:00:00'
    GROUP BY driver_id
)
SELECT driver_id,
       total_deliveries,
       ROUND(100.0 * completed / total_deliveries, 2) AS success_rate
FROM per_driver
-- Integers only: completed / total >= 90 / 100, cross-multiplied. No integer
-- division, no floating point, no rounding before the comparison.
WHERE completed >= 5
  AND 100 * completed >= 90 * total_deliveries
ORDER BY success_rate DESC, total_deliveries DESC, driver_id ASC;
