package load

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// startRealStack serves the whole HTTP stack over the in-memory store on a
// loopback port, with the rate limiter on but too generous to trigger, as
// the comparison runs it.
func startRealStack(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := memory.New(sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		t.Fatal(err)
	}
	return serveStack(t, st)
}

// serveStack serves the whole HTTP stack over st, closing both at the end.
func serveStack(t *testing.T, st sale.Store) *httptest.Server {
	t.Helper()
	t.Cleanup(func() { _ = st.Close() })
	hub, err := live.Start(live.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	h, err := httpapi.New(httpapi.Config{
		Store: st, Live: hub, AdminToken: testToken, RateLimit: 1e6, RateBurst: 1e6,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestRunAgainstRealStackBalances(t *testing.T) {
	srv := startRealStack(t)
	res, err := Run(context.Background(), Config{URL: srv.URL, Token: testToken, Inventory: 100, Concurrency: 8, Requests: 2000})
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

func TestMixAgainstRealStackBalances(t *testing.T) {
	srv := startRealStack(t)
	res, err := Run(context.Background(), Config{URL: srv.URL, Token: testToken, Inventory: 100, Concurrency: 8, Requests: 2000, Mix: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
	// The mix must have exercised every follow-up, or it proved little.
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
}

// A second run on the same server starts a fresh sale: nothing from the
// first may leak into the second's books.
func TestRunTwiceOnRealStack(t *testing.T) {
	srv := startRealStack(t)
	for range 2 {
		res, err := Run(context.Background(), Config{URL: srv.URL, Token: testToken, Inventory: 10, Concurrency: 4, Requests: 300, Mix: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.BooksErr(); err != nil {
			t.Fatalf("%v\n%q", err, res.Violations)
		}
	}
}
