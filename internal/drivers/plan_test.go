package drivers

import (
	"strings"
	"testing"
)

const indexName = "deliveries_month_bucket"

// monthExpr is, per dialect, the expression the index leads with and the
// query compares with the month: the two must be written the same way for
// the database to match them.
var monthExpr = map[Dialect]string{
	SQLite:   "substr(attempt_timestamp, 1, 7)",
	Postgres: "date_trunc('month', attempt_timestamp)",
}

// explain returns the plan db chooses for query, one line per node.
func explain(t testing.TB, db *DB, query string, args ...any) string {
	t.Helper()
	prefix, col := "EXPLAIN ", 0
	if db.dialect == SQLite {
		// EXPLAIN QUERY PLAN rows are (id, parent, notused, detail).
		prefix, col = "EXPLAIN QUERY PLAN ", 3
	}
	rows, err := db.sql.QueryContext(t.Context(), prefix+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, asString(vals[col]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	s, _ := v.(string)
	return s
}

// planProblem says what is wrong with plan for the month query, or "" if it
// is the plan the design relies on: one month found by an equality on the
// index's leading expression, and the grouping streamed in index order, with
// no sort for it.
func planProblem(d Dialect, plan string) string {
	if d == SQLite {
		// COVERING: the SQLite in modernc.org/sqlite (3.54) sees that the
		// query reads attempt_timestamp only inside the indexed expression,
		// so it never visits the table. (Older ones, such as the sqlite3
		// 3.40 shell on Debian 12, say USING INDEX and read the table.)
		if want := "SEARCH deliveries USING COVERING INDEX " + indexName + " (<expr>=?)"; !strings.Contains(plan, want) {
			return "no " + want
		}
		if strings.Contains(plan, "USE TEMP B-TREE FOR GROUP BY") {
			return "the GROUP BY sorts"
		}
		return ""
	}
	// PostgreSQL prints the tree indented, children under their parent. The
	// one Sort allowed is the ORDER BY's, above the aggregate.
	scan := strings.Index(plan, "Index Only Scan using "+indexName)
	agg := strings.Index(plan, "GroupAggregate")
	switch {
	case scan < 0:
		return "no Index Only Scan using " + indexName
	case agg < 0 || agg > scan:
		return "no GroupAggregate over the index scan"
	case strings.Contains(plan[agg:], "Sort"):
		return "a Sort under the aggregate"
	}
	return ""
}

// TestPlanUsesIndex guards against an edit that quietly turns the month
// into a full scan or a sort: the plan must find the month by an equality on
// the index's leading expression and stream the grouping in index order.
//
// PostgreSQL chooses by cost, so its table gets enough rows, a month of them
// a small fraction, and VACUUM ANALYZE: the statistics make the month look
// selective, and the visibility map lets the scan skip the heap. No
// enable_seqscan = off: a plan forced that way would prove nothing about the
// plan production gets.
func TestPlanUsesIndex(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		var months []Month
		for i := range 24 {
			months = append(months, MustParseMonth("2023-01").Add(i))
		}
		rows := 2_400 // SQLite plans this query the same for any size
		if db.dialect == Postgres {
			rows = 48_000
		}
		if err := db.Generate(ctx, Sample{Rows: rows, Drivers: 500, Months: months, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		if db.dialect == Postgres {
			if _, err := db.sql.ExecContext(ctx, "VACUUM ANALYZE deliveries"); err != nil {
				t.Fatal(err)
			}
		}
		sept := MustParseMonth("2024-09")
		arg := db.dialect.monthArg(sept)
		plan := explain(t, db, monthQueries[db.dialect], arg)
		if p := planProblem(db.dialect, plan); p != "" {
			t.Errorf("%s:\n%s", p, plan)
		}

		// The check can fail: the classic mistakes make plans without the
		// index. The same month in another expression (the index serves
		// only its own), and the half-open range on the bare column, which
		// was the first design and needs an index on the column itself.
		other := "strftime('%Y-%m', attempt_timestamp)"
		if db.dialect == Postgres {
			other = "to_char(attempt_timestamp, 'YYYY-MM')"
		}
		start, end := sept.bounds()
		for _, careless := range []struct {
			where string
			args  []any
		}{
			{other + " = $1", []any{sept.String()}},
			{"attempt_timestamp >= $1 AND attempt_timestamp < $2", []any{start, end}},
		} {
			q := replaceOnce(t, monthQueries[db.dialect], monthExpr[db.dialect]+" = $1", careless.where)
			if plan := explain(t, db, q, careless.args...); planProblem(db.dialect, plan) == "" || strings.Contains(plan, indexName) {
				t.Errorf("with %s the plan still uses the index:\n%s", careless.where, plan)
			}
		}
	})
}

// replaceOnce replaces old in s by new, and fails unless old occurs exactly
// once.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times in the query, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}
