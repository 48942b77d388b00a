-- Reliable drivers for September 2024: at least 5 COMPLETED deliveries in
-- the month and a success rate (COMPLETED / all deliveries in the month) of
-- at least 90%. Runs as it is in the sqlite3 shell and in psql.
--
-- The two timestamp literals below are the month's bounds. The Go code binds
-- other months by replacing each of them with a parameter, so they must each
-- appear exactly once (see internal/drivers/query.go).
WITH per_driver AS (
    SELECT driver_id,
           COUNT(*) AS total_deliveries,
           SUM(CASE WHEN delivery_status = 'COMPLETED' THEN 1 ELSE 0 END) AS completed
    FROM deliveries
    -- Half-open range on the bare column: the index serves it as one range,
    -- and every second of 30 September counts, none of 1 October.
    WHERE attempt_timestamp >= '2024-09-01 00:00:00'
      AND attempt_timestamp <  '2024-10-01 00:00:00'
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
