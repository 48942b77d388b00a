package load

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// testdata/wrk_baseline.txt is wrk 4.1.0 (Debian) run with the embedded
// script against the baseline for 3 s, 2 threads, 64 connections, 1000
// units; /status after it said held 1000, waiting 51207.
func TestParseWrkCapturedRun(t *testing.T) {
	out, err := os.ReadFile("testdata/wrk_baseline.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	want := WrkFigures{
		Threads: 2, Connections: 64,
		Requests: 52177, Duration: us(3025055), Bytes: 11494535,
		P50: us(2863), P99: us(52185), P999: us(73624), Max: us(84757),
		Created: 1000, Waitlisted: 51177,
	}
	if f != want {
		t.Errorf("parsed\n%+v\nwant\n%+v", f, want)
	}
	// wrk printed "Requests/sec:  17248.28" from the same figures.
	if got := f.Throughput(); got < 17248 || got > 17249 {
		t.Errorf("throughput %.2f, wrk said 17248.28", got)
	}
	if err := f.Failure(); err != nil {
		t.Errorf("a clean run failed: %v", err)
	}
	st := generated.Status{Initialized: true, TotalInventory: 1000, Held: 1000, WaitlistSize: 51207}
	if v := checkWrkBooks(f, st, 1000, 64); len(v) > 0 {
		t.Errorf("books of the captured run: %q", v)
	}
}

// testdata/wrk_not_initialized.txt is the same script against a baseline
// nobody initialized: every answer a 409.
func TestParseWrkRunOfRefusals(t *testing.T) {
	out, err := os.ReadFile("testdata/wrk_not_initialized.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Threads != 1 || f.Connections != 2 || f.Requests != 15023 || f.Errors.Status != 15023 || f.Other != 15023 {
		t.Errorf("parsed %+v", f)
	}
	err = f.Failure()
	if err == nil || !strings.Contains(err.Error(), "15023 answers above 399") || !strings.Contains(err.Error(), "15023 answers neither 201 nor 202") {
		t.Errorf("Failure() = %v, want it to name the refusals", err)
	}
}

func TestParseWrkRejectsOtherOutput(t *testing.T) {
	header := "Running 1s test @ http://127.0.0.1:1\n  2 threads and 4 connections\n"
	for name, tc := range map[string]struct{ out, want string }{
		"nothing":       {"", "no \"N threads and M connections\" line"},
		"no script":     {header + "Requests/sec: 5.0\n", `no "flashsale-wrk" line`},
		"broken json":   {header + "flashsale-wrk {\"requests\":\n", `wrk's "flashsale-wrk" line`},
		"unknown field": {header + "flashsale-wrk {\"requests\":1,\"new\":2}\n", `unknown field "new"`},
		"no requests":   {header + "flashsale-wrk {\"duration_us\":1}\n", "no request count"},
	} {
		if _, err := ParseWrk([]byte(tc.out)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %s", name, err, tc.want)
		}
	}
}

func TestWrkFailureNamesEachProblem(t *testing.T) {
	f := WrkFigures{Requests: 10, Errors: WrkErrors{Connect: 1, Read: 2, Write: 3, Timeout: 4}}
	want := "1 connect errors, 2 read errors, 3 write errors, 4 timeouts"
	if err := f.Failure(); err == nil || err.Error() != want {
		t.Errorf("Failure() = %v, want %s", err, want)
	}
	if err := (WrkFigures{}).Failure(); err == nil || !strings.Contains(err.Error(), "no request completed") {
		t.Errorf("an empty run: Failure() = %v", err)
	}
}

func TestCheckWrkBooks(t *testing.T) {
	f := WrkFigures{Created: 100, Waitlisted: 900}
	good := generated.Status{Initialized: true, TotalInventory: 100, Held: 100, WaitlistSize: 903}
	if v := checkWrkBooks(f, good, 100, 4); len(v) > 0 {
		t.Fatalf("balanced books: %q", v)
	}
	for name, tc := range map[string]struct {
		st   func(*generated.Status)
		want string
	}{
		"oversold":          {func(s *generated.Status) { s.Held, s.Available = 101, -1 }, "negative"},
		"units lost":        {func(s *generated.Status) { s.Held = 99 }, "want total 100"},
		"confirmed":         {func(s *generated.Status) { s.Held, s.Confirmed = 99, 1 }, "nobody confirmed"},
		"users lost":        {func(s *generated.Status) { s.WaitlistSize = 899 }, "want between the 1000"},
		"users made up":     {func(s *generated.Status) { s.WaitlistSize = 905 }, "that plus its 4 connections"},
		"no line":           {func(s *generated.Status) { s.WaitlistSize = 0 }, "want sold out and a line"},
		"wrong sale":        {func(s *generated.Status) { s.TotalInventory = 50 }, "total_inventory=50"},
		"stock while queue": {func(s *generated.Status) { s.TotalInventory, s.Available = 101, 1 }, "units available while"},
	} {
		st := good
		tc.st(&st)
		v := checkWrkBooks(f, st, 100, 4)
		if !strings.Contains(strings.Join(v, "\n"), tc.want) {
			t.Errorf("%s: violations %q, want one saying %s", name, v, tc.want)
		}
	}
	if v := checkWrkBooks(WrkFigures{Created: 101}, generated.Status{Initialized: true, TotalInventory: 100, Held: 100}, 100, 4); len(v) == 0 {
		t.Error("101 201s for 100 units passed")
	}
}

// needWrk skips t without wrk on PATH, or fails it when
// FLASHSALE_REQUIRE_WRK is set (CI installs wrk).
func needWrk(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_WRK") != "" {
			t.Fatal("wrk is not on PATH and FLASHSALE_REQUIRE_WRK is set (CI installs it)")
		}
		t.Skip("wrk is not on PATH (apt-get install -y wrk): the script cannot be run")
	}
}

// recordingBaseline serves the baseline on n listeners sharing one sale (as
// n servers on one database would), recording every POST /reserve: each
// must be JSON by a user id of the API's pattern, with no token.
type recordingBaseline struct {
	urls []string
	b    *Baseline

	mu    sync.Mutex
	users map[string]int // requests per user id
	per   []int64        // requests per listener
	bad   []string
}

func newRecordingBaseline(t *testing.T, n int) *recordingBaseline {
	t.Helper()
	valid := regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
	rb := &recordingBaseline{b: NewBaseline(testToken), users: map[string]int{}, per: make([]int64, n)}
	for i := range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/reserve" {
				rb.b.ServeHTTP(w, r)
				return
			}
			raw, err := io.ReadAll(r.Body)
			var body generated.ReserveRequest
			if err == nil {
				err = json.Unmarshal(raw, &body)
			}
			user := ""
			if body.UserId != nil {
				user = *body.UserId
			}
			rb.mu.Lock()
			switch {
			case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
				rb.bad = append(rb.bad, r.Method+" "+r.Header.Get("Content-Type"))
			case err != nil || !valid.MatchString(user):
				rb.bad = append(rb.bad, "body "+string(raw))
			case r.Header.Get("Authorization") != "":
				// A new user has no token yet: one sent would be another's.
				rb.bad = append(rb.bad, "a new user's reserve with Authorization "+r.Header.Get("Authorization"))
			}
			rb.users[user]++
			rb.per[i]++
			rb.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(raw))
			rb.b.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		rb.urls = append(rb.urls, srv.URL)
	}
	return rb
}

// check checks that no request was malformed, that no user id came twice,
// that the ids' prefixes (up to the '-') are want, and that the server saw
// between the answers wrk counted and that plus its connections.
func (rb *recordingBaseline) check(t *testing.T, f WrkFigures, want ...string) {
	t.Helper()
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if len(rb.bad) > 0 {
		t.Errorf("%d bad requests, the first: %s", len(rb.bad), rb.bad[0])
	}
	prefixes := map[string]bool{}
	for u, n := range rb.users {
		if n != 1 {
			t.Errorf("user %s sent %d requests", u, n)
		}
		prefixes[u[:strings.IndexByte(u, '-')]] = true
	}
	var got []string
	for p := range prefixes {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("user id prefixes %v, want %v: one per thread (and wrk process)", got, want)
	}
	if n := int64(len(rb.users)); n < f.Requests || n > f.Requests+int64(f.Connections) {
		t.Errorf("%d users reached the server, wrk counted %d answers", n, f.Requests)
	}
}

// TestWrkScriptSendsNewUsers runs wrk with the embedded script against a
// baseline that records every request: each must be POST /reserve, JSON, by
// a user id of the API's pattern that no other request used, and the
// script's counts must match what was answered.
func TestWrkScriptSendsNewUsers(t *testing.T) {
	needWrk(t)
	const inventory, conns = 50, 4
	rb := newRecordingBaseline(t, 1)
	cl, err := newClient(rb.urls[0], testToken, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()
	if err := freshSale(t.Context(), cl, inventory); err != nil {
		t.Fatal(err)
	}
	w, err := newWrk("wrk", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, cpu, err := w.run(t.Context(), wrkShare{threads: 2, conns: conns, tag: "m"}, time.Second, rb.urls[0])
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("wrk's CPU %s, want above zero", cpu)
	}
	if err := f.Failure(); err != nil {
		t.Fatal(err)
	}
	st, err := cl.status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v := checkWrkBooks(f, st, inventory, conns); len(v) > 0 {
		t.Errorf("books: %q", v)
	}
	rb.check(t, f, "m1", "m2")
}

// TestWrkRunAllSharesTheLoad runs two wrk processes at once against two
// servers sharing one sale: each gets its share of the threads and
// connections and a tag of its own, so no user id comes twice, and the
// figures add up to what the sale holds.
func TestWrkRunAllSharesTheLoad(t *testing.T) {
	needWrk(t)
	const inventory = 50
	rb := newRecordingBaseline(t, 2)
	cl, err := newClient(rb.urls[0], testToken, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()
	if err := freshSale(t.Context(), cl, inventory); err != nil {
		t.Fatal(err)
	}
	w, err := newWrk("wrk", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, cpu, err := w.runAll(t.Context(), 2, 5, time.Second, rb.urls, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Failure(); err != nil {
		t.Fatal(err)
	}
	if f.Threads != 2 || f.Connections != 5 || cpu <= 0 {
		t.Errorf("%d threads, %d connections, wrk CPU %s; want 2, 5 and some", f.Threads, f.Connections, cpu)
	}
	if f.Created+f.Waitlisted != f.Requests {
		t.Errorf("201s %d + 202s %d, want the %d requests", f.Created, f.Waitlisted, f.Requests)
	}
	st, err := cl.status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v := checkWrkBooks(f, st, inventory, f.Connections); len(v) > 0 {
		t.Errorf("books: %q", v)
	}
	rb.check(t, f, "m1.1", "m2.1")
	rb.mu.Lock()
	defer rb.mu.Unlock()
	for i, n := range rb.per {
		if n < f.Requests/4 {
			t.Errorf("server %d got %d of %d requests, want its share", i+1, n, f.Requests)
		}
	}
}

func TestSplitWrk(t *testing.T) {
	for _, tc := range []struct {
		threads, conns, n int
		want              []wrkShare
	}{
		{2, 64, 1, []wrkShare{{2, 64, "m"}}},
		{2, 64, 2, []wrkShare{{1, 32, "m1."}, {1, 32, "m2."}}},
		{3, 7, 2, []wrkShare{{2, 4, "m1."}, {1, 3, "m2."}}},
		{3, 3, 2, []wrkShare{{2, 2, "m1."}, {1, 1, "m2."}}},
		{4, 5, 3, []wrkShare{{2, 2, "m1."}, {1, 2, "m2."}, {1, 1, "m3."}}},
	} {
		got := splitWrk(tc.threads, tc.conns, tc.n, "m")
		if !slices.Equal(got, tc.want) {
			t.Errorf("splitWrk(%d, %d, %d) = %v, want %v", tc.threads, tc.conns, tc.n, got, tc.want)
		}
	}
}

func TestMergeWrk(t *testing.T) {
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	a := WrkFigures{Threads: 1, Connections: 32, Requests: 1000, Duration: us(2_000_100), Bytes: 10,
		Errors: WrkErrors{Read: 1}, P50: us(100), P99: us(900), P999: us(2000), Max: us(5000), Created: 600, Waitlisted: 399, Other: 1}
	b := WrkFigures{Threads: 1, Connections: 32, Requests: 3000, Duration: us(2_000_300), Bytes: 30,
		Errors: WrkErrors{Timeout: 2}, P50: us(200), P99: us(800), P999: us(3000), Max: us(4000), Created: 400, Waitlisted: 2600}
	want := WrkFigures{Threads: 2, Connections: 64, Requests: 4000, Duration: us(2_000_300), Bytes: 40,
		Errors: WrkErrors{Read: 1, Timeout: 2}, P50: us(200), P99: us(900), P999: us(3000), Max: us(5000), Created: 1000, Waitlisted: 2999, Other: 1}
	if got := mergeWrk([]WrkFigures{a, b}); got != want {
		t.Errorf("merged\n%+v\nwant\n%+v", got, want)
	}
	if got := mergeWrk([]WrkFigures{a}); got != a {
		t.Errorf("one process's figures changed: %+v", got)
	}
}
