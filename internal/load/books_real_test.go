package load

import (
	"path/filepath"
	"testing"
)

// realFlags start the real server as the benchmarks do: the test's admin
// token, a rate limit too generous to trigger and no limit on new users per
// address (every user is new, and reserves from this one address); quiet,
// since nothing reads its log.
var realFlags = []string{"--admin-token", testToken, "--rate-limit", "1000000", "--rate-burst", "1000000", "--new-shopper-rate", "0", "--log-level", "warn"}

func realServer(t *testing.T, more ...string) string {
	t.Helper()
	return startFlashsale(t, append(realFlags[:len(realFlags):len(realFlags)], more...)...)
}

func TestBooksAgainstRealServerBalance(t *testing.T) {
	url := realServer(t)
	res, err := Books(t.Context(), BooksConfig{URL: url, Token: testToken, Inventory: 100, Concurrency: 8, Requests: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
	if res.Status.Held != 100 || res.Status.WaitlistSize != 1900 {
		t.Errorf("status = %+v, want 100 held and 1900 waiting", res.Status)
	}
}

// mixedBooks runs the mix against the servers at urls, which must balance
// and must have seen every kind of follow-up, or the mix proved little.
func mixedBooks(t *testing.T, cfg BooksConfig) BooksResult {
	t.Helper()
	cfg.Token, cfg.Mix = testToken, true
	res, err := Books(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
	ops := map[string]int64{}
	for _, a := range res.Answers {
		ops[a.Op] += a.N
	}
	for _, op := range opNames {
		if ops[op] == 0 {
			t.Errorf("no %s requests were sent: %+v", op, res.Answers)
		}
	}
	if res.Status.Confirmed == 0 {
		t.Errorf("nothing confirmed: %+v", res.Status)
	}
	return res
}

func TestBooksMixAgainstRealServerBalance(t *testing.T) {
	mixedBooks(t, BooksConfig{URL: realServer(t), Inventory: 100, Concurrency: 8, Requests: 2000})
}

// A second run on the same server starts a fresh sale: nothing from the
// first may leak into the second's books.
func TestBooksTwiceOnRealServer(t *testing.T) {
	url := realServer(t)
	for range 2 {
		mixedBooks(t, BooksConfig{URL: url, Inventory: 10, Concurrency: 4, Requests: 300})
	}
}

// The books balance on the durable store too, every change committed
// before it is answered.
func TestBooksMixAgainstRealServerOnSQLiteBalance(t *testing.T) {
	url := realServer(t, "--store", "sqlite", "--db", filepath.Join(t.TempDir(), "sale.db"))
	mixedBooks(t, BooksConfig{URL: url, Inventory: 50, Concurrency: 16, Requests: 1000})
}

// The books balance on PostgreSQL with two servers on one schema sharing
// the sale and the connections spread over both, and both agree on it
// afterwards.
func TestBooksMixAgainstTwoRealServersOnPostgresBalance(t *testing.T) {
	dsn := testSchema(t)
	urls := []string{
		realServer(t, "--store", "postgres", "--dsn", dsn),
		realServer(t, "--store", "postgres", "--dsn", dsn),
	}
	res := mixedBooks(t, BooksConfig{URL: urls[0], MoreURLs: urls[1:], Inventory: 50, Concurrency: 16, Requests: 1000})
	if res.Servers != 2 || len(res.Statuses) != 2 || res.Statuses[0] != res.Statuses[1] {
		t.Errorf("servers %d, statuses %+v: want two, the same", res.Servers, res.Statuses)
	}
}
