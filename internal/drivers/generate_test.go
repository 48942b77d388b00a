package drivers

import (
	"slices"
	"testing"
)

func TestGenerate(t *testing.T) {
	months := []Month{MustParseMonth("2024-08"), MustParseMonth("2024-09"), MustParseMonth("2024-10")}
	sample := Sample{Rows: 3_001, Drivers: 30, Months: months, Seed: 7}
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if err := db.Generate(ctx, sample); err != nil {
			t.Fatal(err)
		}
		first, err := db.Reliable(ctx, months[1])
		if err != nil {
			t.Fatal(err)
		}
		// Some drivers qualify and some do not, or the sample teaches nothing.
		if len(first) == 0 || len(first) == sample.Drivers {
			t.Errorf("%d of %d drivers reliable; want some but not all", len(first), sample.Drivers)
		}

		// Appending the same sample again continues the ids and doubles
		// every count, so the rates, and the answer's order, stay put.
		if err := db.Generate(ctx, sample); err != nil {
			t.Fatal(err)
		}
		var n, maxID int64
		var lo, hi string
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*), MAX(id), CAST(MIN(attempt_timestamp) AS TEXT), CAST(MAX(attempt_timestamp) AS TEXT) FROM deliveries`).Scan(&n, &maxID, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if n != 2*int64(sample.Rows) || maxID != n {
			t.Errorf("count %d, max id %d; want both %d", n, maxID, 2*sample.Rows)
		}
		if lo < "2024-08-01 00:00:00" || hi >= "2024-11-01" {
			t.Errorf("timestamps span [%s, %s], want within August to October 2024", lo, hi)
		}
		second, err := db.Reliable(ctx, months[1])
		if err != nil {
			t.Fatal(err)
		}
		for i := range first {
			first[i].TotalDeliveries *= 2
		}
		if !slices.Equal(first, second) {
			t.Errorf("after generating twice:\n got %v\nwant %v", second, first)
		}
	})
}

// Empty decides with one row and Count counts them all; both see a sample.
func TestEmptyAndCount(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		check := func(wantEmpty bool, wantN int64) {
			t.Helper()
			empty, err := db.Empty(ctx)
			if err != nil || empty != wantEmpty {
				t.Errorf("Empty() = %v, %v; want %v", empty, err, wantEmpty)
			}
			n, err := db.Count(ctx)
			if err != nil || n != wantN {
				t.Errorf("Count() = %d, %v; want %d", n, err, wantN)
			}
		}
		check(true, 0)
		at := MustParseMonth("2024-09").Start()
		if err := db.Insert(ctx, []Delivery{{ID: 1, DriverID: 7, Status: Completed, At: at}}); err != nil {
			t.Fatal(err)
		}
		check(false, 1)
		sample := Sample{Rows: 1_001, Drivers: 5, Months: []Month{MustParseMonth("2024-09")}, Seed: 3}
		if err := db.Generate(ctx, sample); err != nil {
			t.Fatal(err)
		}
		check(false, 1_002)
	})
}
