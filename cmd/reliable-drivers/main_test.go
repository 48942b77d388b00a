package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make a schema

	"github.com/flashsale/flashsale/internal/drivers"
)

// cli runs the command as main would, with env as its environment.
func cli(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestGenerateThenQuery(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deliveries.db")
	out, _, err := cli(t, nil, "--generate", "5000", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "driver_id") || !strings.Contains(lines[len(lines)-1], "reliable drivers in 2024-09") {
		t.Fatalf("unexpected table:\n%s", out)
	}

	// The file now exists: the same answer again without --generate, as
	// CSV and as JSON.
	out, _, err = cli(t, nil, "--db", db, "--format", "csv")
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
	out, _, err = cli(t, nil, "--db", db, "--format", "json", "--month", "2024-09")
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
	out, _, err = cli(t, nil, "--db", db, "--format", "json", "--month", "2023-01")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty month: %q, %v", out, err)
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

	pgOut, _, err := cli(t, env, "--generate", "5000", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	sqliteOut, _, err := cli(t, nil, "--generate", "5000", "--db", filepath.Join(t.TempDir(), "d.db"), "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if pgOut != sqliteOut || strings.Count(pgOut, "\n") < 10 {
		t.Errorf("the same sample gives different answers:\nPostgreSQL:\n%s\nSQLite:\n%s", pgOut, sqliteOut)
	}
}

// Every mistake is one clear line and a non-zero exit, and never leaves a
// database behind.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	other := filepath.Join(dir, "other.db")
	if _, _, err := cli(t, nil, "--generate", "10", "--db", other); err != nil {
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

	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		want  string // in the error
		usage bool
	}{
		{"month without zero", nil, []string{"--month", "2024-9"}, `month "2024-9": want YYYY-MM`, true},
		{"month 13", nil, []string{"--month", "2024-13"}, `month "2024-13"`, true},
		{"month with slash", nil, []string{"--month", "2024/09"}, `month "2024/09"`, true},
		{"empty month", nil, []string{"--month", ""}, `month "": want YYYY-MM`, true},
		{"format", nil, []string{"--format", "xml"}, `format "xml": want table, csv or json`, true},
		{"unknown flag", nil, []string{"--verbose"}, "flag provided but not defined: -verbose", true},
		{"argument", nil, []string{"2024-09"}, `unexpected argument "2024-09"`, true},
		{"negative generate", nil, []string{"--generate", "-1"}, "--generate -1", true},
		{"db and dsn", nil, []string{"--db", "x.db", "--dsn", "postgres://localhost/x"}, "give --db or --dsn, not both", true},
		{"missing file", nil, []string{"--db", missing}, "database file " + missing + " does not exist; run with --generate N", false},
		{"no table", nil, []string{"--db", empty}, "no deliveries table; create it with sql/schema.sqlite.sql", false},
		{"other columns", nil, []string{"--db", other}, "table deliveries has columns [id driver_id delivery_status attempt_timestamp courier_note], want exactly", false},
		{"not a database", nil, []string{"--db", notDB}, "file is not a database", false},
		{"bad DSN", nil, []string{"--dsn", "postgres://%zz"}, "PostgreSQL DSN", false},
		{"unreachable server", nil, []string{"--dsn", "postgres://postgres@127.0.0.1:1/test?sslmode=disable"}, "connect to PostgreSQL", false},
		{"DSN from the environment", map[string]string{"FLASHSALE_DSN": "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"}, nil, "connect to PostgreSQL", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := cli(t, tt.env, tt.args...)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.want)
			}
			var ue usageError
			if isUsage := errors.As(err, &ue); isUsage != tt.usage {
				t.Errorf("usage error: %v, want %v", isUsage, tt.usage)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing file was created: %v", err)
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
	out, _, err := cli(t, map[string]string{"FLASHSALE_DSN": "postgres://u:secret@host/db"}, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--generate") && !strings.Contains(out, "-generate") || strings.Contains(out, "secret") {
		t.Errorf("help:\n%s", out)
	}
}
