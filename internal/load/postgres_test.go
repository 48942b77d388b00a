package load

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/postgres"
)

func TestSchemaNameNeedsNoQuoting(t *testing.T) {
	valid := regexp.MustCompile(`^flashsale_load_[a-z0-9]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		n := newSchemaName()
		if !valid.MatchString(n) {
			t.Fatalf("schema name %q is not a plain lower-case identifier", n)
		}
		if seen[n] {
			t.Fatalf("schema name %q twice", n)
		}
		seen[n] = true
	}
}

func TestPostgresOnThisMachine(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/test": true,
		"postgres://postgres@localhost/test":      true,
		"postgres://postgres@[::1]:5432/test":     true,
		"host=/var/run/postgresql dbname=test":    true,
		"postgres://postgres@db.example:5432/x":   false,
		"postgres://postgres@10.0.0.7:5432/x":     false,
	} {
		if got := pgOnThisMachine(dsn); got != want {
			t.Errorf("pgOnThisMachine(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestProfileNames(t *testing.T) {
	for _, tc := range []struct{ file, tag, want string }{
		{"", "postgres", ""},
		{"cpu.pprof", "postgres", "cpu.postgres.pprof"},
		{"out/cpu.pprof", "postgres-2", "out/cpu.postgres-2.pprof"},
	} {
		if got := profileFor(tc.file, tc.tag); got != tc.want {
			t.Errorf("profileFor(%q, %q) = %q, want %q", tc.file, tc.tag, got, tc.want)
		}
	}
}

// A ratio printed to two decimals must not look as if it met the target it
// missed.
func TestRatioAgainstTarget(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{{0.2464, "0.246"}, {0.25, "0.25"}, {0.2531, "0.25"}, {0.11, "0.11"}, {0.81, "0.81"}} {
		if got := ratioAgainst(tc.r, targetPostgresThroughput); got != tc.want {
			t.Errorf("ratioAgainst(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestStoreStatsPlus(t *testing.T) {
	a := StoreStats{Batches: 10, Calls: 40, Events: 41, CommitTime: time.Second, MaxBatch: 9}
	b := StoreStats{Batches: 5, Calls: 30, Events: 30, CommitTime: time.Second / 2, MaxBatch: 12}
	want := StoreStats{Batches: 15, Calls: 70, Events: 71, CommitTime: 3 * time.Second / 2, MaxBatch: 12}
	if got := a.plus(b); got != want {
		t.Errorf("plus = %+v, want %+v", got, want)
	}
}

// twoDoors serves one sale (one baseline) on two listeners, as two servers
// on one database would, counting the requests each one gets.
func twoDoors(t *testing.T, second func(next http.Handler) http.Handler) (urls [2]string, counts *[2]atomic.Int64) {
	t.Helper()
	b := NewBaseline(testToken)
	counts = new([2]atomic.Int64)
	for i := range urls {
		var h http.Handler = b
		if i == 1 && second != nil {
			h = second(b)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			counts[i].Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	return urls, counts
}

func TestRunSpreadsConnectionsOverServers(t *testing.T) {
	urls, counts := twoDoors(t, nil)
	res, err := Run(context.Background(), Config{URL: urls[0], MoreURLs: urls[1:], Token: testToken, Inventory: 50, Concurrency: 4, Requests: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
	// Each server gets two of the four workers; each worker sends ~500.
	for i := range counts {
		if n := counts[i].Load(); n < 200 {
			t.Errorf("server %d got %d requests of 2000, want a fair share", i+1, n)
		}
	}
	if res.Servers != 2 || len(res.Statuses) != 2 || res.Statuses[0] != res.Statuses[1] || res.Statuses[0] != res.Status {
		t.Errorf("servers %d, statuses %+v, status %+v", res.Servers, res.Statuses, res.Status)
	}
	var out bytes.Buffer
	res.Print(&out)
	for _, want := range []string{"4 connections over 2 servers", "(the same on both servers)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// Servers that share a sale must agree on it: a second server whose /status
// lags or differs breaks the books even when the first one's balance.
func TestRunCatchesServersThatDisagree(t *testing.T) {
	urls, _ := twoDoors(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/status" {
				writeJSON(w, http.StatusOK, generated.Status{Initialized: true, TotalInventory: 20, Held: 20, WaitlistSize: 7})
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	res, err := Run(context.Background(), Config{URL: urls[0], MoreURLs: urls[1:], Token: testToken, Inventory: 20, Concurrency: 2, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 1 || !strings.Contains(res.Violations[0], "server 2's /status") {
		t.Errorf("violations %q, want one saying server 2's /status differs", res.Violations)
	}
}

func TestRunNeedsAConnectionPerServer(t *testing.T) {
	urls, _ := twoDoors(t, nil)
	cfg := Config{URL: urls[0], MoreURLs: []string{urls[1], urls[1]}, Token: testToken, Inventory: 1, Concurrency: 2, Requests: 1}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "below the 3 servers") {
		t.Errorf("err = %v, want concurrency below the servers refused", err)
	}
}

func TestComparePostgresOptionsChecked(t *testing.T) {
	base := CompareConfig{Self: "x", ServerBin: "y", Out: &bytes.Buffer{},
		Load: Config{Inventory: 1, Concurrency: 1, Requests: 1}}
	for _, tc := range []struct {
		name string
		edit func(*CompareConfig)
		want string
	}{
		{"servers without a DSN", func(c *CompareConfig) { c.PostgresServers = 2 }, "no PostgreSQL DSN"},
		{"negative servers", func(c *CompareConfig) { c.Postgres, c.PostgresServers = "postgres://u@h/d", -1 }, "want 1 or more"},
		{"more servers than connections", func(c *CompareConfig) { c.Postgres, c.PostgresServers = "postgres://u@h/d", 2 }, "below the 2 servers"},
	} {
		cc := base
		tc.edit(&cc)
		if _, err := Compare(context.Background(), cc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

// The books check holds on PostgreSQL, over the whole stack, with two
// servers on one schema sharing the sale and the load spread over both.
func TestRunAgainstTwoRealStacksOnPostgresBalances(t *testing.T) {
	dsn := pgtest.Schema(t)
	var urls []string
	for range 2 {
		st, err := postgres.Open(t.Context(), dsn, sale.Config{HoldTTL: sale.DefaultHoldTTL})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, serveStack(t, st).URL)
	}
	res, err := Run(t.Context(), Config{URL: urls[0], MoreURLs: urls[1:], Token: testToken, Inventory: 50, Concurrency: 16, Requests: 1000, Mix: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
	if len(res.Statuses) != 2 {
		t.Errorf("statuses of %d servers, want 2", len(res.Statuses))
	}
}

// The comparison's schema is made on the server and dropped afterwards.
func TestPostgresSchemaCreatedAndDropped(t *testing.T) {
	server := pgtest.ServerDSN(t)
	s, err := createSchema(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), server)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", s.name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if !exists() {
		_ = s.drop()
		t.Fatalf("schema %s not made", s.name)
	}
	// The servers get a DSN that lands in it.
	conn, err := pgx.Connect(t.Context(), s.dsn)
	if err != nil {
		_ = s.drop()
		t.Fatal(err)
	}
	var current string
	err = conn.QueryRow(t.Context(), "SELECT current_schema()").Scan(&current)
	conn.Close(context.Background())
	if err != nil || current != s.name {
		t.Errorf("current_schema() through %s = %q, %v; want %s", pgdsn.Redact(s.dsn), current, err, s.name)
	}
	if err := s.drop(); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Errorf("schema %s still there after drop", s.name)
	}
}
