package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// The webhook endpoints' cursors (store.Outboxer) live in the file beside
// the sale, in webhook_endpoints (migrations/00005_webhooks.sql). The
// delivery loops lease and acknowledge from goroutines of their own, each
// write a short transaction that takes the file's write lock at BEGIN
// (IMMEDIATE, from the DSN); the store makes them under its own lock,
// between two batches (store.Store.ownedJournal), so that this process is
// still the file's only writer at any moment and no batch finds it busy.

var _ store.Outboxer = (*journal)(nil)

// register keeps a cursor for each configured endpoint the file has none
// for, as store.Outboxer says, in one transaction. now is the store's
// clock, which the leases and the pruning also go by.
func (j *journal) register(ctx context.Context, now time.Time) error {
	if len(j.outbox.Endpoints) == 0 {
		return nil
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("register webhook endpoints: %w", explain(err))
	}
	defer tx.Rollback() // after Commit, a no-op
	for _, url := range j.outbox.Endpoints {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO webhook_endpoints (url, cursor, seen_at)
			VALUES (?, (SELECT coalesce(max(seq), 0) FROM sale_events), ?)
			ON CONFLICT (url) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at)`,
			url, now.UnixMicro()); err != nil {
			return fmt.Errorf("register webhook endpoint %s: %w", url, explain(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("register webhook endpoints: %w", explain(err))
	}
	return nil
}

// pruneSQL deletes the events before store.Outboxer's bound B, the
// endpoints that count being those seen since the cutoff (the parameter,
// Unix microseconds). B is at most the newest reset R, so "seq < B" is
// "seq < R AND seq < B"; without a reset, R and so the bound are NULL and
// nothing is deleted. Each max and min is a lookup in an index (the
// partial one on resets, the primary key), and the DELETE a range of the
// primary key that is empty when there is nothing to prune.
const pruneSQL = `DELETE FROM sale_events WHERE seq < (
	SELECT CASE WHEN owed.cursor IS NULL THEN newest.seq
		ELSE coalesce((SELECT max(seq) FROM sale_events WHERE kind = 'reset' AND seq <= owed.cursor), 0)
	END
	FROM (SELECT max(seq) AS seq FROM sale_events WHERE kind = 'reset') AS newest,
		(SELECT min(cursor) AS cursor FROM webhook_endpoints WHERE seen_at >= ?) AS owed
)`

// prune deletes in tx what no endpoint needs any longer (pruneSQL), at the
// instant at: an endpoint not seen within MaxAge before it does not count.
func (j *journal) prune(ctx context.Context, tx *sql.Tx, at time.Time) error {
	_, err := tx.ExecContext(ctx, pruneSQL, at.Add(-j.outbox.MaxAge).UnixMicro())
	return err
}

// ReadAll implements store.Outboxer.
func (j *journal) ReadAll(ctx context.Context, after uint64, limit int) ([]sale.Event, error) {
	events, err := j.events(ctx, "seq > ?", int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read the events after %d: %w", after, err)
	}
	return events, nil
}

// Lease implements store.Outboxer: the update takes the lease when it is
// free, expired, or the holder's already, in a transaction that also reads
// who holds it otherwise, so the answer is one moment's.
func (j *journal) Lease(ctx context.Context, url, holder string, ttl time.Duration, now time.Time) (sale.Lease, error) {
	now = sale.Instant(now)
	until := sale.Instant(now.Add(ttl))
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return sale.Lease{}, explain(err)
	}
	defer tx.Rollback() // after Commit, a no-op
	var cursor int64
	err = tx.QueryRowContext(ctx,
		`UPDATE webhook_endpoints SET holder = ?2, lease_until = ?3, seen_at = ?4
		WHERE url = ?1 AND (holder = ?2 OR holder = '' OR lease_until <= ?4)
		RETURNING cursor`,
		url, holder, until.UnixMicro(), now.UnixMicro()).Scan(&cursor)
	switch {
	case err == nil:
		if err := tx.Commit(); err != nil {
			return sale.Lease{}, explain(err)
		}
		return sale.Lease{Held: true, Cursor: uint64(cursor), Holder: holder, Until: until}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return sale.Lease{}, explain(err)
	}
	var (
		other   string
		untilUS int64
	)
	err = tx.QueryRowContext(ctx, "SELECT holder, lease_until FROM webhook_endpoints WHERE url = ?", url).Scan(&other, &untilUS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sale.Lease{}, sale.ErrNoOutbox
	case err != nil:
		return sale.Lease{}, fmt.Errorf("read who holds it: %w", explain(err))
	}
	return sale.Lease{Holder: other, Until: instant(untilUS)}, nil
}

// Acknowledge implements store.Outboxer: the holder's progress, then the
// pruning it may allow, in one transaction. In the update every column on
// the right is the row's value before it, so "?3 > cursor" is whether the
// cursor moves on.
func (j *journal) Acknowledge(ctx context.Context, a sale.Ack, now time.Time) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return explain(err)
	}
	defer tx.Rollback() // after Commit, a no-op
	res, err := tx.ExecContext(ctx,
		`UPDATE webhook_endpoints SET
			cursor = max(cursor, ?3),
			dead_letters = dead_letters + ?4,
			seen_at = ?5,
			last_error = CASE WHEN ?6 THEN ?7 WHEN ?3 > cursor THEN '' ELSE last_error END,
			last_error_at = CASE WHEN ?6 THEN ?8 WHEN ?3 > cursor THEN 0 ELSE last_error_at END
		WHERE url = ?1 AND holder = ?2`,
		a.URL, a.Holder, int64(a.Cursor), int64(a.Dead), now.UnixMicro(),
		a.Failure != nil, sale.ErrorText(a.Failure), micros(a.FailedAt))
	if err != nil {
		return explain(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return explain(err)
	} else if n == 0 {
		return j.notHeld(ctx, tx, a.URL)
	}
	if err := j.prune(ctx, tx, now); err != nil {
		return fmt.Errorf("delete the events every endpoint acknowledged: %w", explain(err))
	}
	return explain(tx.Commit())
}

// notHeld says why an acknowledgement changed no row: another holder, or
// no such endpoint.
func (j *journal) notHeld(ctx context.Context, tx *sql.Tx, url string) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM webhook_endpoints WHERE url = ?", url).Scan(&one)
	switch {
	case err == nil:
		return sale.ErrLeaseLost
	case errors.Is(err, sql.ErrNoRows):
		return sale.ErrNoOutbox
	}
	return fmt.Errorf("read who holds it: %w", explain(err))
}

// Endpoints implements store.Outboxer.
func (j *journal) Endpoints(ctx context.Context) ([]sale.Endpoint, error) {
	rows, err := j.db.QueryContext(ctx,
		`SELECT url, cursor, holder, lease_until, dead_letters, last_error, last_error_at
		FROM webhook_endpoints ORDER BY url`)
	if err != nil {
		return nil, fmt.Errorf("read the webhook endpoints: %w", explain(err))
	}
	defer rows.Close()
	var out []sale.Endpoint
	for rows.Next() {
		var (
			e                sale.Endpoint
			cursor, dead     int64
			untilUS, errorUS int64
		)
		if err := rows.Scan(&e.URL, &cursor, &e.Holder, &untilUS, &dead, &e.LastError, &errorUS); err != nil {
			return nil, fmt.Errorf("read the webhook endpoints: %w", explain(err))
		}
		e.Cursor, e.DeadLetters = uint64(cursor), uint64(dead)
		e.LeaseUntil, e.LastErrorAt = instant(untilUS), instant(errorUS)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the webhook endpoints: %w", explain(err))
	}
	return out, nil
}

// instant is the time of a column of Unix microseconds, the zero time for 0.
func instant(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
