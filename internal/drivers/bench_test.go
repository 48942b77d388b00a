package drivers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// benchSample is the log of the performance section: 10,000,000 rows,
// a twelfth of them in each month of 2024, from 100,000 drivers.
func benchSample() Sample {
	months := make([]Month, 12)
	for i := range months {
		months[i] = MustParseMonth("2024-01").Add(i)
	}
	return Sample{Rows: 10_000_000, Drivers: 100_000, Months: months, Seed: 1}
}

// BenchmarkReliableDrivers times the September 2024 query on benchSample,
// with the index and without it, on SQLite and, when
// FLASHSALE_TEST_POSTGRES_DSN is set, on PostgreSQL, and reports the ratios.
// "Without it" is measured twice: the same query with the index forbidden,
// and the cheapest full scan there is, the half-open range on the bare
// column (the first design's predicate), which spares the full scan
// computing the month of every row. It also times counting September's rows
// alone, which shows how the time divides between finding the rows and
// grouping them.
//
// The ratios appear on the full-scan result lines; -v also prints a summary.
// The log is built once and kept: as a file in $TMPDIR/flashsale-bench for
// SQLite, and as the schema flashsale_bench_10m for PostgreSQL. Each is
// built under another name and renamed when complete, so an interrupted build
// is never mistaken for a finished one. Delete them to rebuild.
//
//	go test ./internal/drivers -run '^$' -bench ReliableDrivers -benchtime 5x -timeout 60m -v
func BenchmarkReliableDrivers(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db := benchSQLite(b)
		// SQLite has no switch to turn an index off, but NOT INDEXED on
		// the table forbids it for one query: the same text otherwise.
		noIndex := func(q string) string {
			return replaceOnce(b, q, "FROM deliveries\n", "FROM deliveries NOT INDEXED\n")
		}
		compareIndexed(b, db, db, noIndex)
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv(postgresDSNEnv)
		if dsn == "" {
			b.Skip(postgresDSNEnv + " not set; skipping PostgreSQL benchmark")
		}
		schema := benchPostgres(b, dsn)
		withIndex := openBench(b, withParam(b, dsn, "search_path", schema))
		// The planner settings turn off every plan that reads an index, for
		// the connections of this pool only; the query text is the same.
		// (Dropping the index instead would change the data under test and
		// cost a rebuild per run.)
		noIndex := withParam(b, dsn, "search_path", schema)
		for _, s := range []string{"enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"} {
			noIndex = withParam(b, noIndex, s, "off")
		}
		same := func(q string) string { return q }
		compareIndexed(b, withIndex, openBench(b, noIndex), same)
	})
}

// compareIndexed times the query and the bare month's rows on indexed and,
// rewritten by noIndex, on scanned. It checks that all give the same answers
// and that the plans are what they claim, and logs the times and ratios.
func compareIndexed(b *testing.B, indexed, scanned *DB, noIndex func(string) string) {
	d := indexed.dialect
	sept := MustParseMonth("2024-09")
	arg := d.monthArg(sept)
	start, end := sept.bounds()
	query := monthQueries[d]
	byMonth := monthExpr[d] + " = $1"
	byRange := "attempt_timestamp >= $1 AND attempt_timestamp < $2"
	rangeQuery := replaceOnce(b, query, byMonth, byRange)
	monthRows := "SELECT COUNT(*)\nFROM deliveries\nWHERE " + byMonth

	if plan := explain(b, indexed, query, arg); planProblem(d, plan) != "" {
		b.Fatalf("indexed plan: %s:\n%s", planProblem(d, plan), plan)
	}
	for _, q := range []string{noIndex(query), noIndex(rangeQuery), noIndex(monthRows)} {
		args := []any{arg}
		if q == noIndex(rangeQuery) {
			args = []any{start, end}
		}
		if plan := explain(b, scanned, q, args...); strings.Contains(plan, "deliveries_") {
			b.Fatalf("the plan without the index uses an index:\n%s", plan)
		}
	}

	runs := []struct {
		name string
		base int // the run this one is compared with, or -1
		run  func(context.Context) (any, error)
	}{
		{"query/indexed", -1, func(ctx context.Context) (any, error) { return indexed.reliable(ctx, query, arg) }},
		{"query/full-scan", 0, func(ctx context.Context) (any, error) { return scanned.reliable(ctx, noIndex(query), arg) }},
		{"range-query/full-scan", 0, func(ctx context.Context) (any, error) {
			return scanned.reliable(ctx, noIndex(rangeQuery), start, end)
		}},
		{"month-rows/indexed", -1, func(ctx context.Context) (any, error) { return count(ctx, indexed, monthRows, arg) }},
		{"month-rows/full-scan", 3, func(ctx context.Context) (any, error) { return count(ctx, scanned, noIndex(monthRows), arg) }},
	}
	times := make([]time.Duration, len(runs))
	answers := make([]any, len(runs))
	for i, r := range runs {
		b.Run(r.name, func(b *testing.B) {
			for range b.N {
				a, err := r.run(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				answers[i] = a
			}
			times[i] = b.Elapsed() / time.Duration(b.N)
			// On the result line, visible without -v, unlike the log below.
			if r.base >= 0 && times[r.base] > 0 {
				b.ReportMetric(float64(times[i])/float64(times[r.base]), "x-slower-than-indexed")
			}
		})
	}
	if !reflect.DeepEqual(answers[0], answers[1]) || !reflect.DeepEqual(answers[0], answers[2]) || answers[3] != answers[4] {
		b.Fatal("the answers with and without the index differ")
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	ratio := func(i, base int) float64 { return float64(times[i]) / float64(times[base]) }
	b.Logf("%s, September 2024: %d reliable drivers from %d rows\n"+
		"  query:      indexed %s, full scan %s: %.1fx faster with the index\n"+
		"              full scan of the bare range %s: %.1fx faster with the index\n"+
		"  month rows: indexed %s, full scan %s: %.1fx faster with the index",
		d, len(answers[0].([]Driver)), answers[3],
		ms(times[0]), ms(times[1]), ratio(1, 0),
		ms(times[2]), ratio(2, 0),
		ms(times[3]), ms(times[4]), ratio(4, 3))
}

func count(ctx context.Context, db *DB, query string, args ...any) (int64, error) {
	var n int64
	err := db.sql.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// firstDesign is the index of the first design, a range index on the bare
// column. A cached log built before the month-bucket index had only it;
// upgrade drops it, so that a cached log and a fresh build are the same.
const firstDesign = "deliveries_month_driver_status"

// upgrade brings a cached log to the current schema: the month-bucket
// index is created if missing (seconds, not the minutes of a rebuild), and
// the first design's index is dropped.
func upgrade(b *testing.B, db *DB) {
	if err := db.ApplySchema(b.Context()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.sql.ExecContext(b.Context(), "DROP INDEX IF EXISTS "+firstDesign); err != nil {
		b.Fatal(err)
	}
}

// benchSQLite opens the cached SQLite log, building it first if need be.
func benchSQLite(b *testing.B) *DB {
	dir := filepath.Join(os.TempDir(), "flashsale-bench")
	path := filepath.Join(dir, "deliveries-10M.sqlite")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		partial := path + ".partial"
		os.Remove(partial)
		b.Logf("building %s, once; this takes a few minutes", path)
		began := time.Now()
		db, err := OpenSQLite(b.Context(), partial, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := build(b.Context(), db); err != nil {
			b.Fatal(err)
		}
		db.Close()
		if err := os.Rename(partial, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s in %v", path, time.Since(began).Round(time.Second))
	}
	db, err := OpenSQLite(b.Context(), path, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	upgrade(b, db)
	return db
}

// benchPostgres returns the schema holding the PostgreSQL log, building it
// first if need be.
func benchPostgres(b *testing.B, dsn string) string {
	const schema, partial = "flashsale_bench_10m", "flashsale_bench_partial"
	ctx := b.Context()
	admin := openBench(b, dsn)
	var exists bool
	if err := admin.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		b.Logf("building schema %s, once; this takes a few minutes", schema)
		began := time.Now()
		for _, q := range []string{"DROP SCHEMA IF EXISTS " + partial + " CASCADE", "CREATE SCHEMA " + partial} {
			if _, err := admin.sql.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		if err := build(ctx, openBench(b, withParam(b, dsn, "search_path", partial))); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.sql.ExecContext(ctx, "ALTER SCHEMA "+partial+" RENAME TO "+schema); err != nil {
			b.Fatal(err)
		}
		b.Logf("built schema %s in %v", schema, time.Since(began).Round(time.Second))
	}
	upgrade(b, openBench(b, withParam(b, dsn, "search_path", schema)))
	// Only VACUUM sets the visibility map that lets an index-only scan skip
	// the heap; on a table it has seen, it is quick.
	if _, err := admin.sql.ExecContext(ctx, "VACUUM ANALYZE "+schema+".deliveries"); err != nil {
		b.Fatal(err)
	}
	return schema
}

func build(ctx context.Context, db *DB) error {
	if err := db.ApplySchema(ctx); err != nil {
		return err
	}
	if err := db.Generate(ctx, benchSample()); err != nil {
		return fmt.Errorf("build benchmark log: %w", err)
	}
	return nil
}

func openBench(b *testing.B, dsn string) *DB {
	db, err := OpenPostgres(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
