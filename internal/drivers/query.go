package drivers

import (
	"context"
	"fmt"
	"math"
	"strings"

	sqlfiles "github.com/flashsale/flashsale/sql"
)

// Driver is one reliable driver in a month.
type Driver struct {
	ID              int64 `json:"driver_id"`
	TotalDeliveries int64 `json:"total_deliveries"`
	SuccessRate     Rate  `json:"success_rate"`
}

// septemberBounds are the literals in sql/reliable_drivers.sql that make it
// runnable as it is for September 2024.
var septemberBounds = [2]string{"'2024-09-01 00:00:00'", "'2024-10-01 00:00:00'"}

// monthQuery is sql/reliable_drivers.sql with its bounds turned into the
// parameters $1 and $2, a form both pgx and modernc.org/sqlite accept.
var monthQuery = mustParameterize(sqlfiles.ReliableDrivers)

// parameterize replaces each September bound with a parameter. It insists
// that each occurs exactly once, so an edit to the file that this rewrite
// would get wrong stops every program and test at start-up.
func parameterize(query string) (string, error) {
	for i, lit := range septemberBounds {
		if n := strings.Count(query, lit); n != 1 {
			return "", fmt.Errorf("reliable_drivers.sql: found the bound %s %d times, want exactly once", lit, n)
		}
		query = strings.Replace(query, lit, fmt.Sprintf("$%d", i+1), 1)
	}
	return query, nil
}

func mustParameterize(query string) string {
	q, err := parameterize(query)
	if err != nil {
		panic(err)
	}
	return q
}

// Reliable returns the reliable drivers of month m, in the order of the SQL:
// success rate (as printed, to two decimals) descending, then total
// deliveries descending, then driver id ascending. It returns an empty,
// non-nil slice when there are none.
func (db *DB) Reliable(ctx context.Context, m Month) ([]Driver, error) {
	start, end := m.bounds()
	ds, err := db.reliable(ctx, monthQuery, start, end)
	if err != nil {
		return nil, fmt.Errorf("query month %s: %w", m, err)
	}
	return ds, nil
}

// reliable runs a variant of the query: monthQuery, or in tests and
// benchmarks the file as it is, or a copy that may not use the index.
func (db *DB) reliable(ctx context.Context, query string, args ...any) ([]Driver, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ds := []Driver{}
	for rows.Next() {
		var d Driver
		// SQLite returns a REAL and PostgreSQL a numeric, both already
		// rounded to two decimals: scaling and rounding recovers the exact
		// hundredths from either.
		var rate float64
		if err := rows.Scan(&d.ID, &d.TotalDeliveries, &rate); err != nil {
			return nil, err
		}
		d.SuccessRate = Rate(math.Round(rate * 100))
		ds = append(ds, d)
	}
	return ds, rows.Err()
}
