package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// rowsPerInsert bounds the rows of one INSERT. Under a crowd a batch holds
// tens to hundreds of events; sending them as a few multi-row statements
// instead of one statement per event saves the driver's per-call work
// (binding, stepping, resetting, database/sql's bookkeeping) on all but one
// call per chunk. 11 columns × 128 rows stays far below SQLite's 32,766
// parameters.
const rowsPerInsert = 128

// write inserts a batch's events, then prunes what the batch's last reset
// voids: everything before it, including this batch's own events that came
// before it, but for what a webhook endpoint has yet to acknowledge
// (outbox.go), so that the file always starts at a reset (or at the first
// event) and replays from there.
func (b *batch) write(ctx context.Context, events []sale.Event) error {
	var reset *sale.Event
	for i, e := range events {
		if e.Kind == sale.EventReset {
			reset = &events[i]
		}
	}
	if _, err := b.insert(ctx, "sale_events ("+columns+")", 11, len(events), func(args []any, i int) ([]any, error) {
		e := events[i]
		return append(args, int64(e.Seq), string(e.Kind), e.At.UnixMicro(), e.UserID, e.ReservationID, e.Position,
			micros(e.ExpiresAt), e.Total, micros(e.OpensAt), micros(e.ClosesAt), e.Seed), nil
	}); err != nil {
		return err
	}
	if reset != nil {
		if err := b.j.prune(ctx, b.tx, reset.At); err != nil {
			return fmt.Errorf("delete the events before the reset at %d: %w", reset.Seq, err)
		}
	}
	return nil
}

// micros is t in Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// insert adds n rows of width values to into ("table (columns)") in chunks
// of rowsPerInsert rows; row appends the values of row i to args. It
// returns how many rows it added.
func (b *batch) insert(ctx context.Context, into string, width, n int, row func(args []any, i int) ([]any, error)) (int64, error) {
	// A full chunk's statement is prepared once per batch and reused; only
	// the last, shorter chunk is parsed on its own.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	var added int64
	args := make([]any, 0, min(n, rowsPerInsert)*width)
	for done := 0; done < n; {
		chunk := min(n-done, rowsPerInsert)
		args = args[:0]
		for i := done; i < done+chunk; i++ {
			var err error
			if args, err = row(args, i); err != nil {
				return added, err
			}
		}
		var (
			res sql.Result
			err error
		)
		if chunk == rowsPerInsert {
			if full == nil {
				if full, err = b.tx.PrepareContext(ctx, insertRows(into, width, chunk)); err != nil {
					return added, err
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = b.tx.ExecContext(ctx, insertRows(into, width, chunk), args...)
		}
		if err != nil {
			return added, err
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return added, err
		}
		added += rows
		done += chunk
	}
	return added, nil
}

// insertRows is an INSERT of n rows of width values into into.
func insertRows(into string, width, n int) string {
	row := "(" + strings.Repeat("?, ", width-1) + "?)"
	var sb strings.Builder
	sb.Grow(len(into) + 24 + n*(len(row)+2))
	sb.WriteString("INSERT INTO " + into + " VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	return sb.String()
}
