package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/load"
	"github.com/flashsale/flashsale/internal/pgtest"
)

// When this variable is set the test binary is flashsale-load itself, so
// that compare can start it as a child the way it starts the real binary.
const childEnv = "FLASHSALE_LOAD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func noEnv(string) string { return "" }

func TestRunLoadAgainstBaseline(t *testing.T) {
	srv := httptest.NewServer(load.NewBaseline("tok"))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"run", "--url", srv.URL, "--token", "tok", "--inventory", "10", "--concurrency", "4", "--requests", "500"}, noEnv, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"requests   500 in", "reserve 201 ×10, reserve 202 ×490", "books      balance"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunLoadTokenFromEnv(t *testing.T) {
	srv := httptest.NewServer(load.NewBaseline("from-env"))
	defer srv.Close()
	getenv := func(k string) string {
		if k == "FLASHSALE_ADMIN_TOKEN" {
			return "from-env"
		}
		return ""
	}
	if err := run(context.Background(), []string{"run", "--url", srv.URL, "--requests", "5", "--concurrency", "1"}, getenv, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func TestRunLoadFailsOnBrokenBooks(t *testing.T) {
	b := load.NewBaseline("tok")
	// A server whose /status forgets one waiting user.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"initialized":true,"total_inventory":10,"available":0,"held":10,"confirmed":0,"waitlist_size":89}`))
			return
		}
		b.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"run", "--url", srv.URL, "--token", "tok", "--inventory", "10", "--requests", "100", "--concurrency", "2"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "books do not balance") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line saying the books do not balance", err)
	}
	if !strings.Contains(out.String(), "DO NOT BALANCE") {
		t.Errorf("report does not show the violation:\n%s", out.String())
	}
}

func TestRunRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"run", "--nope"},
		{"run", "--requests", "5", "--duration", "1s"},
		{"run", "extra"},
		{"baseline"}, // no token
		{"wrk", "--rounds", "0"},
		{"wrk", "--duration", "1500ms", "--server-bin", "x", "--baseline-bin", "y"},
		{"wrk", "--wrk", "/nonexistent/wrk", "--server-bin", "x", "--baseline-bin", "y"},
	} {
		if err := run(context.Background(), args, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"run", "-h"}, {"compare", "-h"}, {"baseline", "-h"}, {"wrk", "-h"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, noEnv, &out); err != nil || out.Len() == 0 {
			t.Errorf("run(%q) = %v with %d bytes of help", args, err, out.Len())
		}
	}
}

// TestCompareStartsChildren runs compare end to end with this test binary as
// the baseline and, through a two-line script, as the "real server" too:
// the point is the plumbing (start, address, health, load, books, stop),
// not the figures.
func TestCompareStartsChildren(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	fake := filepath.Join(t.TempDir(), "fake-flashsale")
	// compare passes --addr 127.0.0.1:0 --admin-token T ...; $4 is T.
	script := "#!/bin/sh\nexec \"" + self + "\" baseline --addr \"$2\" --admin-token \"$4\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"compare", "--baseline-bin", self, "--server-bin", fake,
		"--inventory", "20", "--concurrency", "4", "--requests", "300", "--warmup", "0s"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"== baseline", "== flashsale", "throughput flashsale", "books      balance on both"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestCompareSQLiteRunsAThirdServer: --sqlite starts the server once more
// with --store sqlite and a --db in a folder made for that run under
// --db-dir, and removes the folder afterwards.
func TestCompareSQLiteRunsAThirdServer(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	tmp := t.TempDir()
	argsLog := filepath.Join(tmp, "args")
	fake := filepath.Join(tmp, "fake-flashsale")
	script := "#!/bin/sh\necho \"$@\" >> \"" + argsLog + "\"\nexec \"" + self + "\" baseline --addr \"$2\" --admin-token \"$4\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(tmp, "db")
	if err := os.Mkdir(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"compare", "--baseline-bin", self, "--server-bin", fake, "--sqlite", "--db-dir", dbDir,
		"--inventory", "20", "--concurrency", "4", "--requests", "300", "--warmup", "0s"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"== flashsale on SQLite", "throughput SQLite", "books      balance on all three"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, lines := serverArgs(t, argsLog)
	if len(lines) != 2 || strings.Contains(lines[0], "--store") || !strings.Contains(lines[1], "--store sqlite --db "+dbDir+"/") {
		t.Errorf("server started with:\n%s\nwant the memory store, then --store sqlite --db under %s", b, dbDir)
	}
	if left, _ := os.ReadDir(dbDir); len(left) != 0 {
		t.Errorf("%s still holds %d entries after the run", dbDir, len(left))
	}
}

func TestCompareFailsWhenServerCannotStart(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	err = run(context.Background(), []string{"compare", "--baseline-bin", self, "--server-bin", filepath.Join(t.TempDir(), "missing"),
		"--inventory", "5", "--concurrency", "2", "--requests", "50", "--warmup", "0s"}, noEnv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "start flashsale") {
		t.Fatalf("err = %v, want the server's start to fail", err)
	}
}

func TestComparePostgresFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--postgres-servers", "2"}, "--postgres-servers needs --postgres"},
		{[]string{"--postgres-servers", "1"}, "--postgres-servers needs --postgres"},
		{[]string{"--postgres", "postgres://u@h/d", "--postgres-servers", "0"}, "want 1 or more"},
		{[]string{"--postgres", "postgres://u@h/d", "--postgres-servers", "x"}, "invalid value"},
		{[]string{"--postgres", "postgres://u@h/d", "--postgres-servers", "3", "--concurrency", "2"}, "below the 3 servers"},
	} {
		args := append([]string{"compare", "--baseline-bin", "x", "--server-bin", "y", "--requests", "1"}, tc.args...)
		err := run(context.Background(), args, noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error saying %q", args, err, tc.want)
		}
	}
}

// fakeServer writes a script that logs its arguments, one line per start,
// and serves the baseline (this test binary) as if it were flashsale.
func fakeServer(t *testing.T) (bin, argsLog string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	tmp := t.TempDir()
	argsLog = filepath.Join(tmp, "args")
	bin = filepath.Join(tmp, "fake-flashsale")
	script := "#!/bin/sh\necho \"$@\" >> \"" + argsLog + "\"\nexec \"" + self + "\" baseline --addr \"$2\" --admin-token \"$4\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsLog
}

// runSchema is the schema named in the --dsn a server was started with.
var runSchema = regexp.MustCompile(`--store postgres --dsn \S*search_path=(flashsale_load_[a-z0-9]{12})\b`)

// checkDropped fails t if the schema is still on the server.
func checkDropped(t *testing.T, dsn, schema string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s is still there after the run", schema)
	}
}

// TestComparePostgresRunsOnASchemaOfItsOwn: --postgres starts the server
// once more with --store postgres and a --dsn whose search_path is a schema
// made for the run, for about a second, and drops the schema afterwards.
func TestComparePostgresRunsOnASchemaOfItsOwn(t *testing.T) {
	dsn := pgtest.ServerDSN(t)
	self, _ := os.Executable()
	fake, argsLog := fakeServer(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"compare", "--baseline-bin", self, "--server-bin", fake, "--postgres", dsn,
		"--inventory", "20", "--concurrency", "4", "--duration", "1s", "--warmup", "0s"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"== flashsale on PostgreSQL", "throughput PostgreSQL", "(target >= 0.25: ", "books      balance on all three"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, lines := serverArgs(t, argsLog)
	if len(lines) != 2 || strings.Contains(lines[0], "--store") || !runSchema.MatchString(lines[1]) {
		t.Fatalf("server started with:\n%s\nwant the memory store, then --store postgres with a schema of the run's", b)
	}
	checkDropped(t, dsn, runSchema.FindStringSubmatch(lines[1])[1])
}

// With --postgres-servers 2 both servers start on the one schema and the
// load goes to both; the fakes here do not share a sale, so the books check
// must say so, and the schema is dropped all the same.
func TestComparePostgresTwoServersCheckedAndDroppedOnFailure(t *testing.T) {
	dsn := pgtest.ServerDSN(t)
	self, _ := os.Executable()
	fake, argsLog := fakeServer(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"compare", "--baseline-bin", self, "--server-bin", fake, "--postgres", dsn, "--postgres-servers", "2",
		"--inventory", "20", "--concurrency", "4", "--requests", "300", "--warmup", "0s"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "flashsale on PostgreSQL, 2 servers: books do not balance") {
		t.Fatalf("err = %v, want the two unshared fakes' books not to balance\n%s", err, out.String())
	}
	for _, want := range []string{"4 connections over 2 servers", "both servers, PostgreSQL and the load generator share the CPU", "throughput PostgreSQL (2 servers)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, lines := serverArgs(t, argsLog)
	if len(lines) != 3 || lines[1] != lines[2] || !runSchema.MatchString(lines[1]) {
		t.Fatalf("servers started with:\n%s\nwant the memory store, then twice the same --store postgres --dsn", b)
	}
	checkDropped(t, dsn, runSchema.FindStringSubmatch(lines[1])[1])
}

// serverArgs reads what the fake server logged of its command lines: the
// whole, and a line per start.
func serverArgs(t *testing.T, argsLog string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(argsLog)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestWrkAgainstBaselineAndRealServer runs the wrk subcommand end to end,
// briefly: this test binary as the baseline, the real server built from
// ./cmd/flashsale into a temporary folder, one round of a second each; then
// once more with that same build as --before-bin too.
func TestWrkAgainstBaselineAndRealServer(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_WRK") != "" {
			t.Fatal("wrk is not on PATH and FLASHSALE_REQUIRE_WRK is set (CI installs it)")
		}
		t.Skip("wrk is not on PATH (apt-get install -y wrk): the wrk comparison cannot run")
	}
	if testing.Short() {
		t.Skip("-short: builds the server and runs wrk for a few seconds")
	}
	server := buildServer(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")

	t.Run("baseline and flashsale", func(t *testing.T) {
		var out bytes.Buffer
		err := run(t.Context(), []string{"wrk", "--baseline-bin", self, "--server-bin", server,
			"--rounds", "1", "--duration", "1s", "--warmup", "1s", "--threads", "2", "--connections", "4", "--inventory", "100"}, noEnv, &out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		checkWrkRows(t, out.String(), "baseline", "flashsale")
		for _, want := range []string{"command    wrk -t2 -c4 -d1s --latency -s wrk_reserve.lua URL -- m", "flashsale/baseline", "throughput ", "books        balance in all 2 runs"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("with a before build", func(t *testing.T) {
		var out bytes.Buffer
		err := run(t.Context(), []string{"wrk", "--baseline-bin", self, "--server-bin", server, "--before-bin", server,
			"--rounds", "1", "--duration", "1s", "--warmup", "0s", "--threads", "2", "--connections", "4", "--inventory", "100"}, noEnv, &out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		checkWrkRows(t, out.String(), "baseline", "before", "flashsale")
		for _, want := range []string{
			"\n  before     " + server + " --rate-limit ",
			"\n  order      round 1: baseline, before, flashsale\n",
			"\n  before/baseline ", "\n  flashsale/baseline ",
			"\n== before/baseline: one round's ratios\n", "\n== flashsale/baseline: one round's ratios\n",
			"\n               before    ", "books        balance in all 3 runs",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
}

// wrkRow is a round's row: name, req/s, p50, p99, p99.9, CPU µs/request,
// 201s, 202s, load.
var wrkRow = regexp.MustCompile(`(?m)^  (baseline|before|flashsale) +(\d+) +(\d+(?:\.\d+)?(?:µs|ms)) +(\S+) +(\S+) +(\d+\.\d) +(\d+) +(\d+) `)

// checkWrkRows checks that out has a row for each of names, in that order,
// each with figures above zero and all 100 units held.
func checkWrkRows(t *testing.T, out string, names ...string) {
	t.Helper()
	rows := wrkRow.FindAllStringSubmatch(out, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1])
	}
	if !slices.Equal(got, names) {
		t.Fatalf("rows %q, want %q, with figures for each:\n%s", got, names, out)
	}
	for _, r := range rows {
		for i, what := range map[int]string{2: "req/s", 6: "CPU per request", 8: "202s"} {
			if v, _ := strconv.ParseFloat(r[i], 64); v <= 0 {
				t.Errorf("%s: %s %s, want above zero", r[1], what, r[i])
			}
		}
		if r[3] == "0µs" {
			t.Errorf("%s: p50 of zero", r[1])
		}
		if r[7] != "100" {
			t.Errorf("%s: %s 201s, want all 100 units held", r[1], r[7])
		}
	}
}

// buildServer builds ./cmd/flashsale into a temporary folder, for the tests
// that run the real server as its own process.
func buildServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the server with")
	}
	server := filepath.Join(t.TempDir(), "flashsale")
	if out, err := exec.Command(goBin, "build", "-o", server, "github.com/flashsale/flashsale/cmd/flashsale").CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}
	return server
}
