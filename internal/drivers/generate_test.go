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
