package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// The webhook endpoints' cursors (store.Outboxer) live in the schema beside
// the sale, in webhook_endpoints (migrations/00005_webhooks.sql), shared by
// every server. Leases and acknowledgements take no lock of the sale's:
// a lease is one row's update, and a cursor only grows, so a batch's
// pruning that read an older cursor only keeps more than it had to.
// Instants are the servers' clocks (the now each call is given), which
// holds already trust, so that every server judges a lease as it judges a
// hold.

var _ store.Outboxer = (*journal)(nil)

// register keeps a cursor for each configured endpoint the schema has none
// for, as store.Outboxer says: one the schema knows resumes where it
// stopped, whichever server delivered to it. The URLs go in sorted, so
// that servers starting at once lock the rows they share in one order.
func (j *journal) register(ctx context.Context, now time.Time) error {
	if len(j.outbox.Endpoints) == 0 {
		return nil
	}
	urls := slices.Sorted(slices.Values(j.outbox.Endpoints))
	if _, err := j.pool.Exec(ctx,
		`INSERT INTO webhook_endpoints (url, cursor, seen_at)
		SELECT url, (SELECT last_seq FROM sale WHERE id = 1), $2 FROM unnest($1::text[]) AS url
		ON CONFLICT (url) DO UPDATE SET seen_at = greatest(webhook_endpoints.seen_at, excluded.seen_at)`,
		urls, sale.Instant(now)); err != nil {
		return fmt.Errorf("register webhook endpoints: %w", classify(err))
	}
	return nil
}

// pruneSQL deletes the events before store.Outboxer's bound B (the CTE
// bound), the endpoints that count being those seen since the cutoff ($1).
// Without a reset the bound is NULL and nothing is deleted.
//
// Each max and min is a lookup in an index (the partial one on resets, the
// primary key). The lower bound on seq changes nothing but the plan: the
// bound is known only as the statement runs, and an open range would look
// like a third of the table to the planner, read by a full scan even when
// there is nothing to delete. The rows are locked in the order of seq
// (FOR UPDATE under ORDER BY) and deleted by ctid, a search each, so that
// a batch's pruning and an acknowledgement's, which take no common lock,
// wait for each other rather than deadlock.
const pruneSQL = `WITH bound AS (
	SELECT CASE WHEN owed.cursor IS NULL THEN newest.seq
		ELSE coalesce((SELECT max(seq) FROM sale_events WHERE kind = 'reset' AND seq <= owed.cursor), 0)
	END AS seq
	FROM (SELECT max(seq) AS seq FROM sale_events WHERE kind = 'reset') AS newest,
		(SELECT min(cursor) AS cursor FROM webhook_endpoints WHERE seen_at >= $1) AS owed
)
DELETE FROM sale_events WHERE ctid = ANY (ARRAY(
	SELECT ctid FROM sale_events
	WHERE seq >= (SELECT min(seq) FROM sale_events) AND seq < (SELECT seq FROM bound)
	ORDER BY seq FOR UPDATE
))`

// pruneCutoff is pruneSQL's parameter at the instant at: an endpoint not
// seen within MaxAge before it does not count.
func (j *journal) pruneCutoff(at time.Time) time.Time {
	return sale.Instant(at.Add(-j.outbox.MaxAge))
}

// ReadAll implements store.Outboxer.
func (j *journal) ReadAll(ctx context.Context, after uint64, limit int) ([]sale.Event, error) {
	rows, err := j.pool.Query(ctx, "SELECT "+columns+" FROM sale_events WHERE seq > $1 ORDER BY seq LIMIT $2", int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read the events after %d: %w", after, classify(err))
	}
	events, err := scan(rows)
	if err != nil {
		return nil, fmt.Errorf("read the events after %d: %w", after, err)
	}
	return events, nil
}

// Lease implements store.Outboxer: one update takes the lease when it is
// free, expired, or the holder's already; when it does not, a second
// statement, with a snapshot taken after the first, reads who holds it.
func (j *journal) Lease(ctx context.Context, url, holder string, ttl time.Duration, now time.Time) (sale.Lease, error) {
	now = sale.Instant(now)
	until := sale.Instant(now.Add(ttl))
	var cursor int64
	err := j.pool.QueryRow(ctx,
		`UPDATE webhook_endpoints SET holder = $2, lease_until = $3, seen_at = $4
		WHERE url = $1 AND (holder = $2 OR holder = '' OR lease_until <= $4)
		RETURNING cursor`,
		url, holder, until, now).Scan(&cursor)
	switch {
	case err == nil:
		return sale.Lease{Held: true, Cursor: uint64(cursor), Holder: holder, Until: until}, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return sale.Lease{}, classify(err)
	}
	var (
		other      string
		otherUntil pgtype.Timestamptz
	)
	err = j.pool.QueryRow(ctx, "SELECT holder, lease_until FROM webhook_endpoints WHERE url = $1", url).Scan(&other, &otherUntil)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sale.Lease{}, sale.ErrNoOutbox
	case err != nil:
		return sale.Lease{}, fmt.Errorf("read who holds it: %w", classify(err))
	}
	return sale.Lease{Holder: other, Until: timeOf(otherUntil)}, nil
}

// Acknowledge implements store.Outboxer: the holder's progress, then the
// pruning it may allow, in one round trip and one (implicit) transaction,
// so the pruning reads the cursor just written. In the update every column
// on the right is the row's value before it, so "$3 > cursor" is whether
// the cursor moves on. An acknowledgement that changed no row prunes only
// what another's could have.
func (j *journal) Acknowledge(ctx context.Context, a sale.Ack, now time.Time) error {
	q := &pgx.Batch{}
	q.Queue(`UPDATE webhook_endpoints SET
			cursor = greatest(cursor, $3),
			dead_letters = dead_letters + $4,
			seen_at = $5,
			last_error = CASE WHEN $6 THEN $7 WHEN $3 > cursor THEN '' ELSE last_error END,
			last_error_at = CASE WHEN $6 THEN $8 WHEN $3 > cursor THEN NULL ELSE last_error_at END
		WHERE url = $1 AND holder = $2`,
		a.URL, a.Holder, int64(a.Cursor), int64(a.Dead), sale.Instant(now),
		a.Failure != nil, sale.ErrorText(a.Failure), timestamptz(sale.Instant(a.FailedAt)))
	q.Queue(pruneSQL, j.pruneCutoff(now))
	res := j.pool.SendBatch(ctx, q)
	defer res.Close()
	tag, err := res.Exec()
	if err != nil {
		return classify(err)
	}
	if _, err := res.Exec(); err != nil {
		return fmt.Errorf("delete the events every endpoint acknowledged: %w", classify(err))
	}
	if err := res.Close(); err != nil {
		return classify(err)
	}
	if tag.RowsAffected() == 0 {
		return j.notHeld(ctx, a.URL)
	}
	return nil
}

// notHeld says why an acknowledgement changed no row: another holder, or
// no such endpoint.
func (j *journal) notHeld(ctx context.Context, url string) error {
	var known bool
	if err := j.pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM webhook_endpoints WHERE url = $1)", url).Scan(&known); err != nil {
		return fmt.Errorf("read who holds it: %w", classify(err))
	}
	if known {
		return sale.ErrLeaseLost
	}
	return sale.ErrNoOutbox
}

// Endpoints implements store.Outboxer.
func (j *journal) Endpoints(ctx context.Context) ([]sale.Endpoint, error) {
	rows, err := j.pool.Query(ctx,
		`SELECT url, cursor, holder, lease_until, dead_letters, last_error, last_error_at
		FROM webhook_endpoints ORDER BY url`)
	if err != nil {
		return nil, fmt.Errorf("read the webhook endpoints: %w", classify(err))
	}
	defer rows.Close()
	var out []sale.Endpoint
	for rows.Next() {
		var (
			e             sale.Endpoint
			cursor, dead  int64
			until, failed pgtype.Timestamptz
		)
		if err := rows.Scan(&e.URL, &cursor, &e.Holder, &until, &dead, &e.LastError, &failed); err != nil {
			return nil, fmt.Errorf("read the webhook endpoints: %w", classify(err))
		}
		e.Cursor, e.DeadLetters = uint64(cursor), uint64(dead)
		e.LeaseUntil, e.LastErrorAt = timeOf(until), timeOf(failed)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the webhook endpoints: %w", classify(err))
	}
	return out, nil
}
