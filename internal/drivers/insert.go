package drivers

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Status is a delivery_status.
type Status string

const (
	Completed Status = "COMPLETED"
	Failed    Status = "FAILED"
	Late      Status = "LATE"
)

// Delivery is one row of the log.
type Delivery struct {
	ID       int64
	DriverID int64
	Status   Status
	At       time.Time // UTC; stored to the second
}

// Insert adds ds in one transaction.
func (db *DB) Insert(ctx context.Context, ds []Delivery) error {
	return db.inTx(ctx, func(w *writer) error {
		for _, d := range ds {
			if err := w.add(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fill with a writer in one transaction and commits. One
// transaction makes a bulk load one fsync, not one per row.
func (db *DB) inTx(ctx context.Context, fill func(*writer) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	w := &writer{tx: tx}
	if err := fill(w); err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	if err := w.flush(ctx); err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert deliveries: commit: %w", err)
	}
	return nil
}

// batchRows is how many rows one INSERT carries: 2,000 parameters, far
// below the limits of SQLite (32,766) and PostgreSQL (65,535), and enough
// that the per-statement cost vanishes.
const batchRows = 500

// writer buffers rows and inserts them batchRows at a time through one
// prepared multi-row INSERT.
type writer struct {
	tx   *sql.Tx
	full *sql.Stmt // prepared on first use
	args []any
}

func (w *writer) add(ctx context.Context, d Delivery) error {
	w.args = append(w.args, d.ID, d.DriverID, string(d.Status), d.At.UTC().Format(TimestampLayout))
	if len(w.args) < 4*batchRows {
		return nil
	}
	if w.full == nil {
		stmt, err := w.tx.PrepareContext(ctx, insertSQL(batchRows))
		if err != nil {
			return err
		}
		w.full = stmt
	}
	if _, err := w.full.ExecContext(ctx, w.args...); err != nil {
		return err
	}
	w.args = w.args[:0]
	return nil
}

// flush inserts the rows of a last, partial batch.
func (w *writer) flush(ctx context.Context) error {
	if len(w.args) == 0 {
		return nil
	}
	_, err := w.tx.ExecContext(ctx, insertSQL(len(w.args)/4), w.args...)
	w.args = w.args[:0]
	return err
}

// insertSQL is an INSERT of n rows with parameters $1, $2, ... which both
// drivers accept.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO deliveries (id, driver_id, delivery_status, attempt_timestamp) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		p := 4*i + 1
		fmt.Fprintf(&b, "($%d,$%d,$%d,$%d)", p, p+1, p+2, p+3)
	}
	return b.String()
}
