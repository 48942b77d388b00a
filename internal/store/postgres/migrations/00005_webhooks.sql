-- Webhooks (issue 27). The committed events are the outbox: each endpoint's
-- place in them, its cursor (the Seq of the last event it acknowledged), is
-- kept here with the sale, so that delivery resumes where it stopped after
-- a restart, a crash, or on another server, and nothing is written on the
-- sale's path for it. The lease (holder until lease_until, by the servers'
-- clocks, which holds already trust) gives an endpoint to one server at a
-- time, so that its events arrive in order.
--
-- A reset no longer deletes every event before it: a deliverer rebuilds its
-- copy of the sale by replaying from the last reset at or before its
-- cursor, so that reset and what follows it are kept until the endpoints
-- moved past them. An endpoint no server registered or leased (seen_at) for
-- MaxAge holds nothing back: what it missed would be dead letters by then.
-- The partial index finds the resets among the events with a lookup, not a
-- scan: where a replay starts, and how far pruning may go, are asked at
-- every start and every acknowledgement.

-- +goose Up
CREATE TABLE webhook_endpoints (
    url           text        PRIMARY KEY,
    cursor        bigint      NOT NULL CHECK (cursor >= 0),
    holder        text        NOT NULL DEFAULT '',  -- the server delivering to it, '' before the first lease
    lease_until   timestamptz,
    seen_at       timestamptz NOT NULL,             -- when a server last registered or leased it
    dead_letters  bigint      NOT NULL DEFAULT 0,
    last_error    text        NOT NULL DEFAULT '',  -- for an operator: cleared once a delivery succeeds
    last_error_at timestamptz
);

CREATE INDEX sale_events_resets ON sale_events (seq) WHERE kind = 'reset';

-- +goose Down
DROP INDEX sale_events_resets;
DROP TABLE webhook_endpoints;
