package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/generated"
)

// testPostgresEnv names the variable that points the tests at a PostgreSQL
// server and database.
const testPostgresEnv = "FLASHSALE_TEST_POSTGRES_DSN"

// testPostgres is the machine's PostgreSQL DSN, or skips t without one.
func testPostgres(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(testPostgresEnv)
	if dsn == "" {
		t.Skip(testPostgresEnv + " is not set: skipping this PostgreSQL test")
	}
	return dsn
}

// testSchema makes a schema for t on the machine's PostgreSQL, as a wrk run
// does for its servers, and returns the DSN that lands in it; the schema is
// dropped when t ends.
func testSchema(t *testing.T) string {
	t.Helper()
	s, err := createSchema(t.Context(), testPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.drop(); err != nil {
			t.Errorf("drop %s: %v", s.where(), err)
		}
	})
	return s.dsn
}

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

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:s3cr%21t@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=s3cret&sslmode=off":   "postgres://u@h/db?password=xxxxx&sslmode=off",
		"postgresql://u@h/db":                             "postgresql://u@h/db",
		"host=h user=u password=s3cret dbname=db":         "host=h user=u password=xxxxx dbname=db",
		`host=h password = 'it\'s secret' dbname=db`:      "host=h password = xxxxx dbname=db",
	} {
		if got := redactDSN(dsn); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
	// An error quoting the password, as written or decoded, loses it.
	dsn := "postgres://u:s3cr%21t@h/db"
	if got := redactIn("no: s3cr!t and s3cr%21t", dsn); got != "no: xxxxx and xxxxx" {
		t.Errorf("redactIn = %q", got)
	}
}

func TestWithParam(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable":                 "postgres://u@h:5432/db?search_path=s1&sslmode=disable",
		"postgres://u@h:5432/db?search_path=old&sslmode=disable": "postgres://u@h:5432/db?search_path=s1&sslmode=disable",
		"host=h user=u dbname=db":                                "host=h user=u dbname=db search_path=s1",
		"host=h user=u dbname=db search_path=old":                "host=h user=u dbname=db search_path=old search_path=s1",
		"postgresql://u@h/db":                                    "postgresql://u@h/db?search_path=s1",
		"postgres://u:p@h/db":                                    "postgres://u:p@h/db?search_path=s1",
	} {
		got, err := withParam(dsn, "search_path", "s1")
		if err != nil || got != want {
			t.Errorf("withParam(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	// A DSN that does not parse is refused, its password not shown.
	if _, err := withParam("postgres://u:s3cret@h:notaport/db", "search_path", "s1"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a DSN with a bad port: err = %v, want one without the password", err)
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

func TestBooksSpreadConnectionsOverServers(t *testing.T) {
	urls, counts := twoDoors(t, nil)
	res, err := Books(t.Context(), BooksConfig{URL: urls[0], MoreURLs: urls[1:], Token: testToken, Inventory: 50, Concurrency: 4, Requests: 2000})
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
	var out strings.Builder
	res.Print(&out)
	for _, want := range []string{"4 connections over 2 servers", "(the same on both servers)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// Servers that share a sale must agree on it: a second server whose /status
// lags or differs breaks the books even when the first one's balance.
func TestBooksCatchServersThatDisagree(t *testing.T) {
	urls, _ := twoDoors(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/status" {
				writeJSON(w, http.StatusOK, generated.Status{Initialized: true, TotalInventory: 20, Held: 20, WaitlistSize: 7})
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	res, err := Books(t.Context(), BooksConfig{URL: urls[0], MoreURLs: urls[1:], Token: testToken, Inventory: 20, Concurrency: 2, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 1 || !strings.Contains(res.Violations[0], "server 2's /status") {
		t.Errorf("violations %q, want one saying server 2's /status differs", res.Violations)
	}
}

func TestBooksNeedAConnectionPerServer(t *testing.T) {
	urls, _ := twoDoors(t, nil)
	cfg := BooksConfig{URL: urls[0], MoreURLs: []string{urls[1], urls[1]}, Token: testToken, Inventory: 1, Concurrency: 2, Requests: 1}
	if _, err := Books(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "below the 3 servers") {
		t.Errorf("err = %v, want concurrency below the servers refused", err)
	}
}

// A run's schema is made on the server, lands the servers in it, and is
// dropped afterwards.
func TestPostgresSchemaCreatedAndDropped(t *testing.T) {
	server := testPostgres(t)
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
	conn, err := pgx.Connect(t.Context(), s.dsn)
	if err != nil {
		_ = s.drop()
		t.Fatal(err)
	}
	var current string
	err = conn.QueryRow(t.Context(), "SELECT current_schema()").Scan(&current)
	conn.Close(context.Background())
	if err != nil || current != s.name {
		t.Errorf("current_schema() through %s = %q, %v; want %s", redactDSN(s.dsn), current, err, s.name)
	}
	if err := s.drop(); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Errorf("schema %s still there after drop", s.name)
	}
}
