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

// TestWrkScriptSendsNewUsers runs wrk with the embedded script against a
// baseline that records every request: each must be POST /reserve, JSON, by
// a user id of the API's pattern that no other request used, and the
// script's counts must match what was answered.
func TestWrkScriptSendsNewUsers(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_WRK") != "" {
			t.Fatal("wrk is not on PATH and FLASHSALE_REQUIRE_WRK is set (CI installs it)")
		}
		t.Skip("wrk is not on PATH (apt-get install -y wrk): the script cannot be run")
	}
	const inventory, conns = 50, 4
	valid := regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	var (
		mu    sync.Mutex
		users = map[string]int{}
		bad   []string
	)
	b := NewBaseline(testToken)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/reserve" {
			b.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(r.Body)
		var body generated.ReserveRequest
		if err == nil {
			err = json.Unmarshal(raw, &body)
		}
		mu.Lock()
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			bad = append(bad, r.Method+" "+r.Header.Get("Content-Type"))
		case err != nil || !valid.MatchString(body.UserId):
			bad = append(bad, "body "+string(raw))
		}
		users[body.UserId]++
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(raw))
		b.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cl, err := newClient(srv.URL, testToken, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()
	if err := freshSale(t.Context(), cl, inventory); err != nil {
		t.Fatal(err)
	}
	w, err := newWrk("wrk", t.TempDir(), 2, conns)
	if err != nil {
		t.Fatal(err)
	}
	f, cpu, err := w.run(t.Context(), time.Second, srv.URL, "m")
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
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("%d bad requests, the first: %s", len(bad), bad[0])
	}
	prefixes := map[string]bool{}
	for u, n := range users {
		if n != 1 {
			t.Errorf("user %s sent %d requests", u, n)
		}
		prefixes[u[:strings.IndexByte(u, '-')]] = true
	}
	if !prefixes["m1"] || !prefixes["m2"] || len(prefixes) != 2 {
		t.Errorf("user id prefixes %v, want m1 and m2: one per thread", prefixes)
	}
	if got := int64(len(users)); got < f.Requests || got > f.Requests+conns {
		t.Errorf("%d users reached the server, wrk counted %d answers", got, f.Requests)
	}
}
