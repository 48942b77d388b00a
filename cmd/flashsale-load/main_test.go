package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"time"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/load"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/jackc/pgx/v5"
)

// When this variable is set the test binary is flashsale-load itself: the
// wrk command starts it as the baseline, and the exit-code tests run it.
const childEnv = "FLASHSALE_LOAD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		return
	}
	serverbin.Main(m)
}

func noEnv(string) string { return "" }

// exitOf runs flashsale-load with args as main does, in this process (run,
// then cli.Outcome), and returns the status main would exit with, its stdout
// and what main would print on stderr. TestMainExits checks main's own part
// once, as a process.
func exitOf(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	line, code := cli.Outcome("flashsale-load", run(ctx, args, noEnv, &out))
	if line != "" {
		stderr = line + "\n"
	}
	return code, out.String(), stderr
}

// main prints outcome's line and exits with its status: as a process, a
// mistake exits 2 with the line on stderr, and -h exits 0.
func TestMainExits(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"no-such-command"}, 2, "(see --help)"},
		{[]string{"-h"}, 0, ""},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		cmd := exec.CommandContext(ctx, self, tc.args...)
		cmd.Env = append(os.Environ(), childEnv+"=1")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		cancel()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("run flashsale-load %q: %v", tc.args, err)
		}
		if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) || (tc.stderr == "") != (errOut.Len() == 0) {
			t.Errorf("flashsale-load %q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.stderr)
		}
	}
}

// A mistake on the command line exits 2 with one line that says what it is
// and points to --help, before anything is started.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run", "--url", "http://127.0.0.1:1"}, `unknown command "run"`},
		{[]string{"books", "--nope"}, "books: flag provided but not defined: -nope"},
		{[]string{"books", "--token", "t", "extra"}, `books: unexpected argument "extra"`},
		{[]string{"books", "--requests", "5"}, "books: an admin token is required"},
		{[]string{"books", "--token", "t", "--requests", "5", "--duration", "1s"}, "set exactly one of duration and requests"},
		{[]string{"books", "--token", "t", "--url", "ftp://x"}, "want http://host:port"},
		{[]string{"books", "--token", "t", "--url", "http://a:1", "--url", "http://b:1", "--url", "http://c:1", "--concurrency", "2"}, "below the 3 servers"},
		{[]string{"baseline"}, "baseline: --admin-token (or FLASHSALE_ADMIN_TOKEN) is required"},
		{[]string{"referee"}, "referee: --admin-token (or FLASHSALE_ADMIN_TOKEN) is required"},
		{[]string{"referee", "--nope"}, "referee: flag provided but not defined: -nope"},
		{[]string{"referee", "--admin-token", "t", "extra"}, `referee: unexpected argument "extra"`},
		{[]string{"wrk", "--rounds", "0"}, "wrk: 0 rounds: want 1 or more"},
		{[]string{"wrk", "--duration", "1500ms"}, "duration 1.5s: want whole seconds"},
		{[]string{"wrk", "--store", "redis"}, `store "redis": want memory, sqlite or postgres`},
		{[]string{"wrk", "--store", "postgres"}, "store postgres needs the DSN"},
		{[]string{"wrk", "--servers", "2"}, "servers share a sale only on store postgres"},
		{[]string{"wrk", "--db-dir", "/tmp"}, "is for store sqlite"},
		{[]string{"wrk", "--store", "postgres", "--dsn", "postgres://u:s3cret@h/d", "--servers", "3"}, "2 threads for 3 servers"},
		{[]string{"wrk", "--servers", "x"}, `invalid value "x" for flag -servers`},
		{[]string{"streams", "-streams", "3", "-rounds", "4"}, "rounds 4 above streams 3"},
		{[]string{"streams", "-pause", "400ms"}, "coalescing window"},
		{[]string{"streams", "extra"}, `streams: unexpected argument "extra"`},
	} {
		code, stdout, stderr := exitOf(t, tc.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "flashsale-load: ") ||
			!strings.HasSuffix(lines[0], " (see --help)") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("flashsale-load %q: exit %d, stderr %q; want 2 and one line saying %q and ending (see --help)", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "s3cret") {
			t.Errorf("flashsale-load %q shows the password: %q", tc.args, stderr)
		}
		if stdout != "" {
			t.Errorf("flashsale-load %q wrote to stdout: %q", tc.args, stdout)
		}
	}
}

// -h prints the usage (a command's, with its flags) and exits 0.
func TestHelpExits0(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"usage: flashsale-load COMMAND", "  wrk  ", "  books  ", "  streams  ", "  baseline  ", "  referee  "}},
		{[]string{"--help"}, []string{"usage: flashsale-load COMMAND"}},
		{[]string{"help"}, []string{"usage: flashsale-load COMMAND"}},
		{[]string{"wrk", "-h"}, []string{"usage: flashsale-load wrk", "-store string", "-dsn string", "-servers int", "-before-bin", "-dead-webhook"}},
		{[]string{"books", "--help"}, []string{"usage: flashsale-load books", "-url URL", "-mix", "-token"}},
		{[]string{"streams", "-h"}, []string{"usage: flashsale-load streams", "-streams int", "-pause duration"}},
		{[]string{"baseline", "-h"}, []string{"usage: flashsale-load baseline", "-addr string"}},
		{[]string{"referee", "-h"}, []string{"usage: flashsale-load referee", "-addr string", "-admin-token string", "one mutex"}},
	} {
		code, stdout, stderr := exitOf(t, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("flashsale-load %q: exit %d, stderr %q; want 0 and nothing", tc.args, code, stderr)
		}
		for _, want := range tc.want {
			if !strings.Contains(stdout, want) {
				t.Errorf("flashsale-load %q prints no %q:\n%s", tc.args, want, stdout)
			}
		}
	}
}

// A measurement that fails, set up well, exits 1 with one line and no hint
// at --help.
func TestFailuresExit1(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"books", "--token", "t", "--url", "http://127.0.0.1:1", "--requests", "5"}, "connection refused"},
		{[]string{"wrk", "--wrk", "/nonexistent/wrk", "--server-bin", "x"}, "apt-get install -y wrk"},
		{[]string{"streams", "-server-bin", "/nonexistent/flashsale", "-streams", "2", "-rounds", "1"}, "start server"},
	} {
		code, _, stderr := exitOf(t, tc.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "flashsale-load: ") ||
			strings.Contains(stderr, "--help") || !strings.Contains(stderr, tc.want) {
			t.Errorf("flashsale-load %q: exit %d, stderr %q; want 1 and one line saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestBooksAgainstBaseline(t *testing.T) {
	srv := httptest.NewServer(load.NewBaseline("tok"))
	defer srv.Close()
	var out bytes.Buffer
	err := run(t.Context(), []string{"books", "--url", srv.URL, "--token", "tok", "--inventory", "10", "--concurrency", "4", "--requests", "500"}, noEnv, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== " + srv.URL + "\n", "requests   500 in", "reserve 201 ×10, reserve 202 ×490", "books      balance"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBooksTokenFromEnv(t *testing.T) {
	srv := httptest.NewServer(load.NewBaseline("from-env"))
	defer srv.Close()
	getenv := func(k string) string {
		if k == "FLASHSALE_ADMIN_TOKEN" {
			return "from-env"
		}
		return ""
	}
	if err := run(t.Context(), []string{"books", "--url", srv.URL, "--requests", "5", "--concurrency", "1"}, getenv, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// --url given twice spreads the connections over two servers sharing one
// sale (here one baseline behind two listeners).
func TestBooksOverTwoServers(t *testing.T) {
	b := load.NewBaseline("tok")
	var urls []string
	for range 2 {
		srv := httptest.NewServer(b)
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"books", "--url", urls[0], "--url", urls[1], "--token", "tok", "--inventory", "10", "--concurrency", "4", "--requests", "300"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"== " + urls[0] + ", " + urls[1] + "\n", "4 connections over 2 servers", "(the same on both servers)", "books      balance"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBooksFailsOnBrokenBooks(t *testing.T) {
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
	err := run(t.Context(), []string{"books", "--url", srv.URL, "--token", "tok", "--inventory", "10", "--requests", "100", "--concurrency", "2"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "books do not balance") || strings.Contains(err.Error(), "\n") || errors.As(err, new(cli.UsageError)) {
		t.Fatalf("err = %v, want one line saying the books do not balance, not a usage error", err)
	}
	if !strings.Contains(out.String(), "DO NOT BALANCE") {
		t.Errorf("report does not show the violation:\n%s", out.String())
	}
}

// The referee command serves the referee on --addr until its context ends:
// its log line names the address, and the sale it serves keeps books.
func TestRefereeServes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"referee", "--addr", "127.0.0.1:0", "--admin-token", "tok"}, noEnv, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no log line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var logged struct{ Addr, Server string }
	if err := json.Unmarshal([]byte(line), &logged); err != nil || logged.Server != "referee" || logged.Addr == "" {
		t.Fatalf("log line %q (%v), want the referee's address", line, err)
	}
	base := "http://" + logged.Addr
	initialize := mustRequest(t, http.MethodPost, base+"/initialize", `{"total_inventory":1}`)
	initialize.Header.Set("Authorization", "Bearer tok")
	for _, r := range []*http.Request{initialize, mustRequest(t, http.MethodPost, base+"/reserve", `{"user_id":"alice"}`)} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", r.Method, r.URL.Path, resp.StatusCode)
		}
	}
	resp, err := http.DefaultClient.Do(mustRequest(t, http.MethodGet, base+"/status", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Held, Available int64 }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Held != 1 || st.Available != 0 {
		t.Errorf("status %+v (%v), want the one unit held", st, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("referee after its context ended: %v, want nil", err)
	}
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// needWrk skips t without wrk on PATH, or fails it when
// FLASHSALE_REQUIRE_WRK is set (CI installs wrk).
func needWrk(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_WRK") != "" {
			t.Fatal("wrk is not on PATH and FLASHSALE_REQUIRE_WRK is set (CI installs it)")
		}
		t.Skip("wrk is not on PATH (apt-get install -y wrk): the wrk comparison cannot run")
	}
	if testing.Short() {
		t.Skip("-short: starts servers and runs wrk for a few seconds")
	}
}

// runWrk runs the wrk command, briefly, with this test binary as the
// baseline and the real server built from ./cmd/flashsale, and returns its
// report; more are further flags.
func runWrk(t *testing.T, more ...string) (string, error) {
	t.Helper()
	server := serverbin.Path(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	args := append([]string{"wrk", "--baseline-bin", self, "--server-bin", server,
		"--rounds", "1", "--duration", "1s", "--warmup", "0s", "--threads", "2", "--connections", "4", "--inventory", "100"}, more...)
	var out bytes.Buffer
	err = run(t.Context(), args, noEnv, &out)
	return out.String(), err
}

// wrkRow is a round's row: name, req/s, p50, p99, p99.9, CPU µs/request,
// 201s, 202s.
var wrkRow = regexp.MustCompile(`(?m)^  (baseline|referee|before|flashsale|dead-hook|sqlite|postgres(?:×\d+)?) +(\d+) +(\d+(?:\.\d+)?(?:µs|ms)) +(\S+) +(\S+) +(\d+\.\d) +(\d+) +(\d+) `)

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

func checkContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestWrkOnMemory runs the wrk command end to end: this test binary as the
// baseline, the real server, one round of a second each, with a warm-up;
// then once more with that same build as --before-bin too.
func TestWrkOnMemory(t *testing.T) {
	needWrk(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("baseline, referee and flashsale", func(t *testing.T) {
		out, err := runWrk(t, "--warmup", "1s")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		checkWrkRows(t, out, "baseline", "referee", "flashsale")
		checkContains(t, out, "command    wrk -t2 -c4 -d1s --latency -s wrk_reserve.lua URL -- m", "a 1s warm-up",
			"\n  referee    "+exe+" referee\n", "\n  order      round 1: baseline, referee, flashsale\n",
			"\n  flashsale/baseline ", "\n  flashsale/referee ", "\n== flashsale/baseline: one round's ratios\n",
			"\n== flashsale/referee: one round's ratios, issue 28's targets, against a correct hand-written server\n",
			"target >= 0.90: ", "target <= 1.30: ", "target <= 1.15: ", "books        balance in all 3 runs")
	})
	t.Run("with a before build", func(t *testing.T) {
		out, err := runWrk(t, "--before-bin", serverbin.Path(t))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		checkWrkRows(t, out, "baseline", "referee", "before", "flashsale")
		checkContains(t, out,
			"\n  before     "+serverbin.Path(t)+" --rate-limit 1000000 --rate-burst 1000000 --new-shopper-rate 0 ",
			"\n  order      round 1: baseline, referee, before, flashsale\n",
			"\n  before/baseline ", "\n  flashsale/baseline ", "\n  before/referee ", "\n  flashsale/referee ",
			"\n== before/baseline: one round's ratios\n", "\n== flashsale/baseline: one round's ratios\n",
			"\n               before     ", "\n               referee    ", "books        balance in all 4 runs")
	})
}

// --dead-webhook runs the real server once more per round with a webhook
// endpoint that refuses every connection, compares it with the run
// without one, and shows what GET /webhooks said of the endpoint: tried,
// failing, nothing delivered.
func TestWrkDeadWebhook(t *testing.T) {
	needWrk(t)
	out, err := runWrk(t, "--dead-webhook")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkWrkRows(t, out, "baseline", "referee", "flashsale", "dead-hook")
	checkContains(t, out,
		"and flashsale with a dead webhook endpoint against it without one; 1 round,",
		" --webhook-url http://127.0.0.1:", "/hooks --webhook-secret-file FILE (memory store)\n",
		"\n  order      round 1: baseline, referee, flashsale, dead-hook\n",
		"\n  dead-hook/flashsale ", "\n  dead-hook: GET /webhooks after the run: nothing delivered, ", "connection refused",
		"\n  dead-hook: server RSS after the run ",
		"\n== dead-hook/flashsale: one round's ratios, a dead webhook endpoint over none\n",
		"(no target: it must be within noise)", "\n  noise        one round: no spread",
		"\n               dead-hook  ", "books        balance in all 4 runs")
	if strings.Contains(out, "dead-hook/baseline") || strings.Contains(out, "dead-hook/referee") {
		t.Errorf("the dead hook is compared with the baseline; it is compared with flashsale without one:\n%s", out)
	}
}

// --store sqlite runs the real server once more per round on a fresh file
// in a folder of its own under --db-dir, removed after the run.
func TestWrkOnSQLite(t *testing.T) {
	needWrk(t)
	dbDir := t.TempDir()
	out, err := runWrk(t, "--store", "sqlite", "--db-dir", dbDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkWrkRows(t, out, "baseline", "referee", "flashsale", "sqlite")
	checkContains(t, out, "--store sqlite --db FILE", "under "+dbDir+" for each run",
		"\n  sqlite/flashsale ", "\n  sqlite ran on "+dbDir+"/flashsale-load-",
		"\n== sqlite/flashsale: one round's ratios, the durable store over the memory store\n",
		"books        balance in all 4 runs")
	if left, _ := os.ReadDir(dbDir); len(left) != 0 {
		t.Errorf("%s still holds %d entries after the run", dbDir, len(left))
	}
}

// postgresDSN is the machine's PostgreSQL, or skips t without one.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("FLASHSALE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("FLASHSALE_TEST_POSTGRES_DSN is not set: skipping this PostgreSQL test")
	}
	return dsn
}

// runSchema is a schema a run made, as the report names it, or as a server
// was given it.
var runSchema = regexp.MustCompile(`(?:schema |search_path=)(flashsale_load_[a-z0-9]{12})\b`)

// checkDropped fails t unless each schema named in text is gone from the
// server; it returns how many it checked.
func checkDropped(t *testing.T, dsn, text string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	seen := map[string]bool{}
	for _, m := range runSchema.FindAllStringSubmatch(text, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", m[1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("schema %s is still there after the run", m[1])
		}
	}
	return len(seen)
}

// --store postgres runs the real server once more per round on a schema
// made for the run, dropped afterwards; with --servers 2, two servers on
// it share the sale, each with a wrk of its own.
func TestWrkOnPostgres(t *testing.T) {
	needWrk(t)
	dsn := postgresDSN(t)
	t.Run("one server", func(t *testing.T) {
		out, err := runWrk(t, "--store", "postgres", "--dsn", dsn)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		checkWrkRows(t, out, "baseline", "referee", "flashsale", "postgres")
		checkContains(t, out, "--store postgres --dsn DSN\n", "\n  postgres/flashsale ", "\n  throughput   ", "target >= 0.25: ",
			"\n== postgres/flashsale: one round's ratios, the durable store over the memory store\n", "books        balance in all 4 runs")
		if n := checkDropped(t, dsn, out); n != 1 {
			t.Errorf("the report names %d schemas, want the run's one:\n%s", n, out)
		}
	})
	t.Run("two servers", func(t *testing.T) {
		out, err := runWrk(t, "--store", "postgres", "--dsn", dsn, "--servers", "2", "--connections", "6")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		checkWrkRows(t, out, "baseline", "referee", "flashsale", "postgres×2")
		checkContains(t, out, "(2 servers)", "wrk -t1 -c3 -d1s --latency -s wrk_reserve.lua URL1 -- m1.\n",
			"wrk -t1 -c3 -d1s --latency -s wrk_reserve.lua URL2 -- m2.\n", "\n  postgres×2/flashsale ",
			"(no target: the 0.25 target is one server's)", "books        balance in all 4 runs")
		if n := checkDropped(t, dsn, out); n != 1 {
			t.Errorf("the report names %d schemas, want the run's one:\n%s", n, out)
		}
	})
}

// A run that fails on PostgreSQL still drops its schema: here the second
// server refuses to start.
func TestWrkOnPostgresDropsTheSchemaOnFailure(t *testing.T) {
	needWrk(t)
	dsn := postgresDSN(t)
	dir := t.TempDir()
	argsLog := filepath.Join(dir, "args")
	wrapper := filepath.Join(dir, "flashsale")
	script := fmt.Sprintf(`#!/bin/sh
echo "$@" >> '%s'
case "$*" in
*"--store postgres"*) [ "$(grep -c -- '--store postgres' '%s')" -ge 2 ] && { echo "refusing to start" >&2; exit 1; } ;;
esac
exec '%s' "$@"
`, argsLog, argsLog, serverbin.Path(t))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runWrk(t, "--server-bin", wrapper, "--store", "postgres", "--dsn", dsn, "--servers", "2")
	if err == nil || !strings.Contains(err.Error(), "postgres×2 server 2 exited") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("err = %v, want the second server's refusal\n%s", err, out)
	}
	started, err := os.ReadFile(argsLog)
	if err != nil {
		t.Fatal(err)
	}
	if n := checkDropped(t, dsn, string(started)); n != 1 {
		t.Errorf("the servers were started on %d schemas, want one:\n%s", n, started)
	}
}

// streamsRound is a round's row: number, streams moved, last, median, p99.
var streamsRound = regexp.MustCompile(`(?m)^ +(\d+) +(\d+) +(\d+\.\dms) +(\d+\.\dms) +(\d+\.\dms) `)

// TestStreamsSmall runs the streams command end to end against the real
// server: 200 streams, two moves of the line.
func TestStreamsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the server and opens 200 event streams")
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"streams", "-server-bin", serverbin.Path(t), "-streams", "200", "-rounds", "2"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkContains(t, out.String(), "200 open in", "  RSS ", "  heap+stack ", "per stream", "\nmedian ")
	rows := streamsRound.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 2 || rows[0][1] != "1" || rows[0][2] != "200" || rows[1][1] != "2" || rows[1][2] != "199" {
		t.Errorf("round rows %q, want round 1 moving 200 streams and round 2 moving 199:\n%s", rows, out.String())
	}
}
