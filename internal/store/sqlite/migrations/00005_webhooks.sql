-- Webhooks (issue 27). The committed events are the outbox: each endpoint's
-- place in them, its cursor (the Seq of the last event it acknowledged), is
-- kept here with the sale, so that delivery resumes where it stopped after
-- a restart or a crash, and nothing is written on the sale's path for it.
-- The lease (holder until lease_until) keeps one delivery loop per
-- endpoint, so that its events arrive in order.
--
-- A reset no longer deletes every event before it: a deliverer rebuilds its
-- copy of the sale by replaying from the last reset at or before its
-- cursor, so that reset and what follows it are kept until the endpoints
-- moved past them. An endpoint nobody registered or leased (seen_at) for
-- MaxAge holds nothing back: what it missed would be dead letters by then.
-- The partial index finds the resets among the events with a lookup, not a
-- scan: where a replay starts, and how far pruning may go, are asked at
-- every start and every acknowledgement.
--
-- Times are Unix microseconds (sale.Precision), 0 for none, like
-- sale_events'.

-- +goose Up
CREATE TABLE webhook_endpoints (
    url           TEXT    PRIMARY KEY,
    cursor        INTEGER NOT NULL,
    holder        TEXT    NOT NULL DEFAULT '',  -- the server delivering to it, '' before the first lease
    lease_until   INTEGER NOT NULL DEFAULT 0,
    seen_at       INTEGER NOT NULL,             -- when a server last registered or leased it
    dead_letters  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',  -- for an operator: cleared once a delivery succeeds
    last_error_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX sale_events_resets ON sale_events (seq) WHERE kind = 'reset';

-- +goose Down
DROP INDEX sale_events_resets;
DROP TABLE webhook_endpoints;
