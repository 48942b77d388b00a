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

// monthSQL is what query.go knows of one dialect's query file.
type monthSQL struct {
	file      string             // the file's name, for errors
	text      string             // the file, runnable as it is for September 2024
	september string             // the one literal in text that names the month
	arg       func(Month) string // the value that replaces september for a month
}

// monthSQLs are sql/reliable_drivers.<dialect>.sql. The dialects name the
// month differently because the index leads with an expression on the
// timestamp, and no such expression is both valid in SQLite and indexable in
// PostgreSQL: SQLite compares the text's YYYY-MM prefix, PostgreSQL the
// month's first instant.
var monthSQLs = map[Dialect]monthSQL{
	SQLite: {
		file:      "sql/reliable_drivers.sqlite.sql",
		text:      sqlfiles.ReliableDriversSQLite,
		september: "'2024-09'",
		arg:       Month.String,
	},
	Postgres: {
		file:      "sql/reliable_drivers.postgres.sql",
		text:      sqlfiles.ReliableDriversPostgres,
		september: "TIMESTAMP '2024-09-01 00:00:00'",
		arg:       func(m Month) string { return m.Start().Format(TimestampLayout) },
	},
}

// monthQueries are the query files with the month turned into the parameter
// $1, a form both pgx and modernc.org/sqlite accept.
var monthQueries = map[Dialect]string{
	SQLite:   mustParameterize(monthSQLs[SQLite]),
	Postgres: mustParameterize(monthSQLs[Postgres]),
}

// parameterize replaces the month literal of q with $1. It insists that the
// literal occurs exactly once, so an edit to the file that this rewrite would
// get wrong stops every program and test at start-up.
func parameterize(q monthSQL) (string, error) {
	if n := strings.Count(q.text, q.september); n != 1 {
		return "", fmt.Errorf("%s: found the month literal %s %d times, want exactly once", q.file, q.september, n)
	}
	return strings.Replace(q.text, q.september, "$1", 1), nil
}

func mustParameterize(q monthSQL) string {
	s, err := parameterize(q)
	if err != nil {
		panic(err)
	}
	return s
}

// monthArg is the value of $1 in monthQueries for month m.
func (d Dialect) monthArg(m Month) string { return monthSQLs[d].arg(m) }

// Reliable returns the reliable drivers of month m, in the order of the SQL:
// success rate (as printed, to two decimals) descending, then total
// deliveries descending, then driver id ascending. It returns an empty,
// non-nil slice when there are none.
func (db *DB) Reliable(ctx context.Context, m Month) ([]Driver, error) {
	ds, err := db.reliable(ctx, monthQueries[db.dialect], db.dialect.monthArg(m))
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
