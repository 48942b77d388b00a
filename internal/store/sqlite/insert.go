package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/flashsale/flashsale/internal/sale"
)

// rowsPerInsert bounds the rows of one INSERT. Under a crowd a batch holds
// tens to hundreds of events; sending them as a few multi-row statements
// instead of one statement per event saves the driver's per-call work
// (binding, stepping, resetting, database/sql's bookkeeping) on all but one
// call per chunk. 8 columns × 128 rows stays far below SQLite's 32,766
// parameters.
const rowsPerInsert = 128

// write inserts a batch's events, then deletes what the batch's last reset
// voids: everything before it, including this batch's own events that came
// before it, so that the file always starts at a reset (or at the first
// event) and replays from there.
func (b *batch) write(ctx context.Context, events []sale.Event) error {
	var reset uint64
	for _, e := range events {
		if e.Kind == sale.EventReset {
			reset = e.Seq
		}
	}
	if err := b.insert(ctx, events); err != nil {
		return err
	}
	if reset > 0 {
		if _, err := b.tx.ExecContext(ctx, "DELETE FROM sale_events WHERE seq < ?", int64(reset)); err != nil {
			return err
		}
	}
	return nil
}

// insert adds the events in chunks of rowsPerInsert rows.
func (b *batch) insert(ctx context.Context, events []sale.Event) error {
	// A full chunk's statement is prepared once per batch and reused; only
	// the last, shorter chunk is parsed on its own.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(len(events), rowsPerInsert)*8)
	for len(events) > 0 {
		n := min(len(events), rowsPerInsert)
		args = args[:0]
		for _, e := range events[:n] {
			var expUS int64
			if !e.ExpiresAt.IsZero() {
				expUS = e.ExpiresAt.UnixMicro()
			}
			args = append(args, int64(e.Seq), string(e.Kind), e.At.UnixMicro(), e.UserID, e.ReservationID, e.Position, expUS, e.Total)
		}
		var err error
		if n == rowsPerInsert {
			if full == nil {
				if full, err = b.tx.PrepareContext(ctx, insertRows(n)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = b.tx.ExecContext(ctx, insertRows(n), args...)
		}
		if err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// insertRows is an INSERT of n events.
func insertRows(n int) string {
	const row = "(?, ?, ?, ?, ?, ?, ?, ?)"
	var sb strings.Builder
	sb.Grow(64 + n*(len(row)+2))
	sb.WriteString("INSERT INTO sale_events (" + columns + ") VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	return sb.String()
}
