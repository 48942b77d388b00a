package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flashsale/flashsale/internal/cli"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make a schema

	"github.com/flashsale/flashsale/internal/drivers"
	"github.com/flashsale/flashsale/internal/pgdsn"
)

// runCLI runs the command as main would, with env as its environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestGenerateThenQuery(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deliveries.db")
	out, _, err := runCLI(t, nil, "--generate", "5000", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "driver_id") || !strings.Contains(lines[len(lines)-1], "reliable drivers in 2024-09") {
		t.Fatalf("unexpected table:\n%s", out)
	}

	// The file now exists: the same answer again without --generate, as
	// CSV and as JSON.
	out, _, err = runCLI(t, nil, "--db", db, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(lines)-1 { // the table has a footer, the CSV a header: same count
		t.Errorf("CSV has %d records, table %d lines", len(records), len(lines))
	}
	out, _, err = runCLI(t, nil, "--db", db, "--format", "json", "--month", "2024-09")
	if err != nil {
		t.Fatal(err)
	}
	var ds []drivers.Driver
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(records)-1 || ds[0].SuccessRate < 9000 {
		t.Errorf("JSON has %d drivers (first %+v), CSV %d", len(ds), ds[0], len(records)-1)
	}

	// A month the sample does not cover is empty, not an error.
	out, _, err = runCLI(t, nil, "--db", db, "--format", "json", "--month", "2023-01")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty month: %q, %v", out, err)
	}
}

// --generate fills an empty log only: a second run of the README's example
// used to add the sample again and double every driver's deliveries. The
// refusal writes nothing, and the log answers as before.
func TestGenerateTwice(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sample.db")
	first, _, err := runCLI(t, nil, "--generate", "200", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	out, stderr, err := runCLI(t, nil, "--generate", "200", "--db", db)
	want := db + " already holds 200 deliveries; --generate only fills an empty log: ask it without --generate, or give a new --db to make a new sample"
	if err == nil || err.Error() != want || code(err) != 1 {
		t.Fatalf("second --generate: %v (exit %d), want %q (exit 1)", err, code(err), want)
	}
	if out != "" || stderr != "" {
		t.Errorf("second --generate wrote output %q and %q", out, stderr)
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the refusal changed %s (%v)", db, err)
	}
	again, _, err := runCLI(t, nil, "--db", db)
	if err != nil || again != first {
		t.Errorf("after the refusal: %v\n%s\nwant\n%s", err, again, first)
	}
}

// A log with the table but no rows is empty: --generate fills it.
func TestGenerateIntoEmptyTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty-table.db")
	db, err := drivers.OpenSQLite(t.Context(), path, true)
	if err != nil {
		t.Fatal(err)
	}
	err = db.ApplySchema(t.Context())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, nil, "--generate", "200", "--db", path)
	if err != nil || !strings.Contains(stderr, "added 200 sample rows") {
		t.Errorf("--generate into an empty table: %v, %q", err, stderr)
	}
}

// The refusal names the log, in the form it was given, without a password,
// and counts in words.
func TestNotEmptyError(t *testing.T) {
	tests := []struct {
		dsn, path string
		n         int64
		want      string
	}{
		{"", "/tmp/sample.db", 200000, "/tmp/sample.db already holds 200000 deliveries; --generate only fills an empty log: ask it without --generate, or give a new --db to make a new sample"},
		{"", "d.db", 1, "d.db already holds 1 delivery; "},
		{"postgres://shop:s3cret@db/sale?sslmode=disable", "deliveries.db", 5000, "the deliveries table of postgres://shop:xxxxx@db/sale?sslmode=disable already holds 5000 deliveries; --generate only fills an empty log: ask it without --generate, or give a --dsn with another database or search_path to make a new sample"},
		{"host=db user=shop password=s3cret dbname=sale", "deliveries.db", 2, "the deliveries table of host=db user=shop password=xxxxx dbname=sale already holds 2 deliveries; "},
	}
	for _, tt := range tests {
		got := notEmptyError(tt.dsn, tt.path, tt.n).Error()
		if !strings.HasPrefix(got, tt.want) || strings.Contains(got, "s3cret") {
			t.Errorf("notEmptyError(%q, %q, %d) = %q, want it to start %q", tt.dsn, tt.path, tt.n, got, tt.want)
		}
	}
}

// The same seed gives the same sample, and so the same answer, in both
// databases.
func TestPostgres(t *testing.T) {
	dsn := os.Getenv("FLASHSALE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("FLASHSALE_TEST_POSTGRES_DSN not set; skipping PostgreSQL tests")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the drop below: cleanups run last first
	schema := "flashsale_cli_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s must be a URL for this test: %v", "FLASHSALE_TEST_POSTGRES_DSN", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	env := map[string]string{"FLASHSALE_DSN": u.String()}

	pgOut, _, err := runCLI(t, env, "--generate", "5000", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	sqliteOut, _, err := runCLI(t, nil, "--generate", "5000", "--db", filepath.Join(t.TempDir(), "d.db"), "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if pgOut != sqliteOut || strings.Count(pgOut, "\n") < 10 {
		t.Errorf("the same sample gives different answers:\nPostgreSQL:\n%s\nSQLite:\n%s", pgOut, sqliteOut)
	}

	// A second sample is refused there too, with the DSN as the name of
	// the log (its password redacted), and nothing is added.
	_, _, err = runCLI(t, env, "--generate", "5000", "--format", "csv")
	want := "the deliveries table of " + pgdsn.Redact(env["FLASHSALE_DSN"]) + " already holds 5000 deliveries; --generate only fills an empty log"
	if err == nil || !strings.HasPrefix(err.Error(), want) || code(err) != 1 {
		t.Errorf("second --generate: %v (exit %d), want %q... (exit 1)", err, code(err), want)
	}
	if p, ok := u.User.Password(); ok && err != nil && strings.Contains(err.Error(), p) {
		t.Errorf("second --generate shows the password: %v", err)
	}
	again, _, err := runCLI(t, env, "--format", "csv")
	if err != nil || again != pgOut {
		t.Errorf("after the refusal: %v\n%s\nwant\n%s", err, again, pgOut)
	}
}

// Every mistake is one clear line and a non-zero exit, and never leaves a
// database behind. A mistake on the command line exits 2 and points to
// --help; any other failure exits 1 and does not.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	other := filepath.Join(dir, "other.db")
	if _, _, err := runCLI(t, nil, "--generate", "10", "--db", other); err != nil {
		t.Fatal(err)
	}
	addColumn(t, other)
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte("driver_id,status\n1,COMPLETED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noFolder := filepath.Join(dir, "no", "such")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error
		code int    // exitCode's
	}{
		{"month without zero", nil, []string{"--month", "2024-9"}, `month "2024-9": want YYYY-MM`, 2},
		{"month 13", nil, []string{"--month", "2024-13"}, `month "2024-13"`, 2},
		{"month with slash", nil, []string{"--month", "2024/09"}, `month "2024/09"`, 2},
		{"empty month", nil, []string{"--month", ""}, `month "": want YYYY-MM`, 2},
		{"month without value", nil, []string{"--month"}, "flag needs an argument: -month", 2},
		{"format", nil, []string{"--format", "xml"}, `format "xml": want table, csv or json`, 2},
		{"unknown flag", nil, []string{"--verbose"}, "flag provided but not defined: -verbose", 2},
		{"argument", nil, []string{"2024-09"}, `unexpected argument "2024-09"`, 2},
		{"negative generate", nil, []string{"--generate", "-1"}, `--generate "-1": want a number of rows, 0 or more`, 2},
		{"generate not a number", nil, []string{"--generate", "abc"}, `--generate "abc": want a number of rows, 0 or more`, 2},
		{"generate with a fraction", nil, []string{"--generate=2.5"}, `--generate "2.5": want a number of rows, 0 or more`, 2},
		{"generate empty", nil, []string{"--generate="}, `--generate "": want a number of rows, 0 or more`, 2},
		{"seed not a number", nil, []string{"--seed", "x"}, `--seed "x": want a whole number from 0 to 18446744073709551615`, 2},
		{"db and dsn", nil, []string{"--db", "x.db", "--dsn", "postgres://localhost/x"}, "give --db or --dsn, not both", 2},
		{"MySQL DSN", nil, []string{"--dsn", "mysql://user:secret@host/db"}, "--dsn is a mysql:// URL; want postgres://USER@HOST:PORT/DATABASE", 2},
		{"MySQL DSN from the environment", map[string]string{"FLASHSALE_DSN": "mysql://user:secret@host/db"}, nil, "FLASHSALE_DSN is a mysql:// URL; want postgres://USER@HOST:PORT/DATABASE", 2},
		{"HTTP DSN", nil, []string{"--dsn", "http://user:secret@host/db"}, "--dsn is a http:// URL", 2},
		{"host alone", nil, []string{"--dsn", "localhost"}, "--dsn: cannot parse `localhost`", 2},
		{"bad DSN", nil, []string{"--dsn", "postgres://%zz"}, "--dsn: cannot parse", 2},
		{"bad port", nil, []string{"--dsn", "postgres://user:secret@host:port/db"}, "--dsn: cannot parse `postgres://user:xxxxx@host:port/db`: invalid port; want postgres://", 2},
		{"missing file", nil, []string{"--db", missing}, "database file " + missing + " does not exist; run with --generate N", 1},
		{"missing folder", nil, []string{"--generate", "10", "--db", filepath.Join(noFolder, "d.db")}, "folder " + noFolder + " does not exist; --db creates the database file, not its folder", 1},
		{"file for a folder", nil, []string{"--generate", "10", "--db", filepath.Join(notDB, "d.db")}, notDB + " is a file, not a folder; --db creates the database file, not its folder", 1},
		{"no table", nil, []string{"--db", empty}, "no deliveries table; create it with sql/schema.sqlite.sql", 1},
		{"other columns", nil, []string{"--db", other}, "table deliveries has columns [id driver_id delivery_status attempt_timestamp courier_note], want exactly", 1},
		{"other columns with generate", nil, []string{"--generate", "10", "--db", other}, "table deliveries has columns [id driver_id delivery_status attempt_timestamp courier_note], want exactly", 1},
		{"not a database", nil, []string{"--db", notDB}, "file is not a database", 1},
		{"unreachable server", nil, []string{"--dsn", "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable"}, "connect to PostgreSQL", 1},
		// pgx tries twice, with TLS and without, and lists each on a line.
		{"unreachable server, key=value", nil, []string{"--dsn", "host=127.0.0.1 port=1 user=postgres password=secret dbname=test connect_timeout=1"}, "connect to PostgreSQL", 1},
		{"unreachable postgresql:// URL", nil, []string{"--dsn", "postgresql://postgres@127.0.0.1:1/test?connect_timeout=1"}, "connect to PostgreSQL", 1},
		{"DSN from the environment", map[string]string{"FLASHSALE_DSN": "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"}, nil, "connect to PostgreSQL", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, tt.env, tt.args...)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error %q shows the password", msg)
			}
			if strings.Contains(msg, "parse error") || strings.Contains(msg, "invalid value") {
				t.Errorf("error %q is in the flag package's words, not what is wanted", msg)
			}
			if code := code(err); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if hint := strings.HasSuffix(msg, " (see --help)"); hint != (tt.code == 2) || strings.Count(msg, "see --help") > 1 {
				t.Errorf("error %q: ends with the --help hint: %v, want %v, once", msg, hint, tt.code == 2)
			}
		})
	}
	for _, p := range []string{missing, filepath.Dir(noFolder)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was created: %v", p, err)
		}
	}
}

// main exits with what exitCode says: scripts rely on 2 meaning "fix the
// command line" and 1 "something else went wrong".
func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"usage", cli.Usagef("unexpected argument %q", "x"), 2},
		{"usage, wrapped", fmt.Errorf("context: %w", cli.Usage(errors.New("bad"))), 2},
		{"failure", errors.New("connect to PostgreSQL: refused"), 1},
		{"interrupted", context.Canceled, 1},
		{"refusal of --generate", notEmptyError("", "d.db", 5), 1},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.want {
			t.Errorf("%s: code(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// addColumn gives the deliveries table in path one column too many.
func addColumn(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "ALTER TABLE deliveries ADD COLUMN courier_note TEXT"); err != nil {
		t.Fatal(err)
	}
}

func TestHelp(t *testing.T) {
	out, _, err := runCLI(t, map[string]string{"FLASHSALE_DSN": "postgres://u:secret@host/db"}, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--generate") && !strings.Contains(out, "-generate") || strings.Contains(out, "secret") {
		t.Errorf("help:\n%s", out)
	}
}

// code is the status main exits with for err.
func code(err error) int {
	_, c := cli.Outcome("reliable-drivers", err)
	return c
}
