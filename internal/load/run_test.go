package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

const testToken = "test-admin-token"

func startBaseline(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewBaseline(testToken))
	t.Cleanup(srv.Close)
	return srv
}

func TestBooksAgainstBaselineBalance(t *testing.T) {
	srv := startBaseline(t)
	res, err := Books(context.Background(), BooksConfig{URL: srv.URL, Token: testToken, Inventory: 100, Concurrency: 8, Requests: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("books: %v\n%v", err, res.Violations)
	}
	if res.Requests != 2000 {
		t.Errorf("requests = %d, want 2000", res.Requests)
	}
	want := generated.Status{Initialized: true, TotalInventory: 100, Available: 0, Held: 100, WaitlistSize: 1900}
	if res.Status != want {
		t.Errorf("status = %+v, want %+v", res.Status, want)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("latencies out of order: p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
	}
}

func TestBooksByDurationStopAndBalance(t *testing.T) {
	srv := startBaseline(t)
	res, err := Books(context.Background(), BooksConfig{URL: srv.URL, Token: testToken, Inventory: 50, Concurrency: 4, Duration: 200e6, Warmup: 50e6})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Status.Held != min(res.Requests, 50) {
		t.Errorf("requests %d, held %d", res.Requests, res.Status.Held)
	}
}

func TestBooksRejectUnboundedOrBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  BooksConfig
		want string
	}{
		{BooksConfig{URL: "http://127.0.0.1:1", Token: "t", Concurrency: 1}, "exactly one of duration and requests"},
		{BooksConfig{URL: "http://127.0.0.1:1", Token: "t", Concurrency: 1, Requests: 1, Duration: 1e9}, "exactly one of duration and requests"},
		{BooksConfig{URL: "http://127.0.0.1:1", Token: "t", Concurrency: 0, Requests: 1}, "concurrency 0 is below 1"},
		{BooksConfig{URL: "ftp://x", Token: "t", Concurrency: 1, Requests: 1}, "want http://host:port"},
		{BooksConfig{URL: "http://127.0.0.1:1", Concurrency: 1, Requests: 1}, "admin token is required"},
		{BooksConfig{URL: "http://127.0.0.1:1", Token: "t", Concurrency: 1, Requests: 1, Inventory: -1}, "inventory -1 is negative"},
	} {
		if err := tc.cfg.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
		// Books refuses it before sending anything: port 1 would refuse
		// the connection otherwise.
		if _, err := Books(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Books(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
}

func TestBooksWrongTokenFails(t *testing.T) {
	srv := startBaseline(t)
	_, err := Books(context.Background(), BooksConfig{URL: srv.URL, Token: "wrong", Inventory: 1, Concurrency: 1, Requests: 1})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401 from initialize", err)
	}
}

// broken wraps the baseline and corrupts one kind of answer, so that each
// test proves the books check sees that kind of lie.
func broken(t *testing.T, corrupt func(next http.Handler) http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(corrupt(NewBaseline(testToken)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBooksCatchBrokenServers(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(next http.Handler) http.Handler
		want    string
	}{
		{
			name: "oversell: 201 beyond inventory",
			corrupt: func(next http.Handler) http.Handler {
				b := next.(*Baseline)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// Give the unit back before taking it: every reserve holds.
					if s := b.sale.Load(); s != nil && r.URL.Path == "/reserve" {
						s.left.Add(1)
					}
					next.ServeHTTP(w, r)
				})
			},
			want: "201s",
		},
		{
			name: "duplicate waitlist position",
			corrupt: func(next http.Handler) http.Handler {
				b := next.(*Baseline)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r)
					// Every tenth place in line is handed out again.
					if s := b.sale.Load(); s != nil && r.URL.Path == "/reserve" && s.waiting.Load()%10 == 5 {
						s.waiting.Add(-1)
					}
				})
			},
			want: "given twice",
		},
		{
			name: "status lies about held",
			corrupt: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/status" {
						writeJSON(w, http.StatusOK, generated.Status{Initialized: true, TotalInventory: 20, Available: 1, Held: 19, WaitlistSize: 180})
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			want: "units available while",
		},
		{
			name: "unexpected status",
			corrupt: func(next http.Handler) http.Handler {
				var n int
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/reserve" {
						if n++; n == 7 { // one worker, so no race
							writeBaselineProblem(w, http.StatusTooManyRequests, "/problems/rate-limited", "slow down")
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			},
			want: "reserve answered 429 1 times",
		},
		{
			name: "hold for somebody else",
			corrupt: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/reserve" {
						rec := httptest.NewRecorder()
						next.ServeHTTP(rec, r)
						for k, v := range rec.Header() {
							w.Header()[k] = v
						}
						w.WriteHeader(rec.Code)
						_, _ = w.Write([]byte(strings.Replace(rec.Body.String(), `"user_id":"u`, `"user_id":"x`, 1)))
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			want: "does not hold it",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := broken(t, tc.corrupt)
			res, err := Books(context.Background(), BooksConfig{URL: url, Token: testToken, Inventory: 20, Concurrency: 1, Requests: 200})
			if err != nil {
				t.Fatal(err)
			}
			err = res.BooksErr()
			if !errors.Is(err, ErrBooks) {
				t.Fatalf("books balance on a broken server: %+v", res)
			}
			if !strings.Contains(strings.Join(res.Violations, "\n"), tc.want) {
				t.Errorf("violations %q do not mention %q", res.Violations, tc.want)
			}
		})
	}
}
