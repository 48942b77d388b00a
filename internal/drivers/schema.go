package drivers

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Columns are the columns of deliveries, in order. The query relies on the
// names, and a plain INSERT INTO deliveries VALUES (1, 7, 'COMPLETED',
// '2024-09-30 23:59:59') relies on their order and on there being no others.
var Columns = []string{"id", "driver_id", "delivery_status", "attempt_timestamp"}

// ErrNoTable means the database has no deliveries table.
var ErrNoTable = errors.New("no deliveries table")

// ApplySchema creates the table and its index if they do not exist yet.
func (db *DB) ApplySchema(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx, db.dialect.schema()); err != nil {
		return fmt.Errorf("apply %s schema: %w", db.dialect, err)
	}
	return nil
}

// CheckSchema verifies that deliveries exists with exactly Columns, so that a
// database made for something else fails loudly instead of answering wrongly.
func (db *DB) CheckSchema(ctx context.Context) error {
	q := `SELECT name FROM pragma_table_info('deliveries') ORDER BY cid`
	if db.dialect == Postgres {
		q = `SELECT column_name FROM information_schema.columns
		     WHERE table_schema = current_schema() AND table_name = 'deliveries'
		     ORDER BY ordinal_position`
	}
	rows, err := db.sql.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read columns of deliveries: %w", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("read columns of deliveries: %w", err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns of deliveries: %w", err)
	}
	if len(got) == 0 {
		return ErrNoTable
	}
	if !slices.Equal(got, Columns) {
		return fmt.Errorf("table deliveries has columns %v, want exactly %v", got, Columns)
	}
	return nil
}
