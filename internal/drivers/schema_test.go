package drivers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The schema is idempotent, so --generate can run against an existing log.
func TestApplySchemaTwice(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		if err := db.ApplySchema(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckSchema(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// The schema admits what the issue promises anyone can load, and refuses
// what would make the text comparison or the status count wrong.
func TestSchemaChecks(t *testing.T) {
	tests := []struct {
		name, status, at string
		ok               map[Dialect]bool
	}{
		{"plain row", "'COMPLETED'", "'2024-09-30 23:59:59'", both(true)},
		{"leap day", "'LATE'", "'2024-02-29 00:00:00'", both(true)},
		{"unknown status", "'DELIVERED'", "'2024-09-01 00:00:00'", both(false)},
		{"lower-case status", "'completed'", "'2024-09-01 00:00:00'", both(false)},
		{"null status", "NULL", "'2024-09-01 00:00:00'", both(false)},
		{"null timestamp", "'FAILED'", "NULL", both(false)},
		{"31 September", "'FAILED'", "'2024-09-31 10:00:00'", both(false)},
		{"29 February 2023", "'FAILED'", "'2023-02-29 10:00:00'", both(false)},
		{"not a time", "'FAILED'", "'yesterday-ish'", both(false)},
		// PostgreSQL parses these into proper timestamps; only SQLite, which
		// keeps the text, must refuse any form that would sort wrongly.
		{"no zero padding", "'FAILED'", "'2024-9-1'", sqliteOnly(false)},
		{"ISO T separator", "'FAILED'", "'2024-09-01T00:00:00'", sqliteOnly(false)},
		{"no seconds", "'FAILED'", "'2024-09-01 10:00'", sqliteOnly(false)},
		{"fraction of a second", "'FAILED'", "'2024-09-01 10:00:00.5'", sqliteOnly(false)},
		{"hour 24", "'FAILED'", "'2024-09-01 24:00:00'", sqliteOnly(false)},
		{"date only", "'FAILED'", "'2024-09-01'", sqliteOnly(false)},
		{"number", "'FAILED'", "20240901", sqliteOnly(false)},
	}
	forEachDB(t, func(t *testing.T, db *DB) {
		for i, tt := range tests {
			ok, ruled := tt.ok[db.dialect]
			if !ruled {
				continue
			}
			q := fmt.Sprintf("INSERT INTO deliveries VALUES (%d, 7, %s, %s)", i+1, tt.status, tt.at)
			_, err := db.sql.ExecContext(t.Context(), q)
			if ok && err != nil {
				t.Errorf("%s: %s: %v", tt.name, q, err)
			}
			if !ok && err == nil {
				t.Errorf("%s: %s: accepted, want an error", tt.name, q)
			}
		}
	})
}

func both(ok bool) map[Dialect]bool       { return map[Dialect]bool{SQLite: ok, Postgres: ok} }
func sqliteOnly(ok bool) map[Dialect]bool { return map[Dialect]bool{SQLite: ok} }

func TestCheckSchema(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		exec := func(q string) {
			t.Helper()
			if _, err := db.sql.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		exec("DROP TABLE deliveries")
		if err := db.CheckSchema(ctx); !errors.Is(err, ErrNoTable) {
			t.Fatalf("no table: got %v, want ErrNoTable", err)
		}
		exec("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, driver_id INTEGER, delivery_status TEXT, attempt_timestamp TEXT, note TEXT)")
		err := db.CheckSchema(ctx)
		if err == nil || !strings.Contains(err.Error(), "note") {
			t.Fatalf("extra column: got %v, want an error naming it", err)
		}
		exec("DROP TABLE deliveries")
		exec("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, driver_id INTEGER, attempt_timestamp TEXT, delivery_status TEXT)")
		if err := db.CheckSchema(ctx); err == nil {
			t.Fatal("columns out of order: got nil, want an error")
		}
	})
}
