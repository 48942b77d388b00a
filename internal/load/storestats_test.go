package load

import (
	"bufio"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

const exposition = `# HELP flashsale_store_batches_total Batches committed by the store's writer.
# TYPE flashsale_store_batches_total counter
flashsale_store_batches_total 40
flashsale_store_batched_calls_total 1000
flashsale_store_events_total 1001
flashsale_store_commit_seconds_total 0.5
flashsale_store_max_batch_calls 64
flashsale_store_queued_calls 3
flashsale_http_requests_total{method="POST",route="/reserve",status="202"} 999
`

func TestParseStoreMetrics(t *testing.T) {
	after, err := parseSeries(bufio.NewScanner(strings.NewReader(exposition)), storeMetrics)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]float64{
		"flashsale_store_batches_total":        10,
		"flashsale_store_batched_calls_total":  100,
		"flashsale_store_events_total":         101,
		"flashsale_store_commit_seconds_total": 0.25,
		"flashsale_store_max_batch_calls":      8,
	}
	got := storeDelta(before, after)
	want := StoreStats{Batches: 30, Calls: 900, Events: 900, CommitTime: 250 * time.Millisecond, MaxBatch: 64}
	if got != want {
		t.Fatalf("delta = %+v, want %+v", got, want)
	}
	if got.MeanBatch() != 30 {
		t.Errorf("mean batch = %v, want 30", got.MeanBatch())
	}
}

// A server without the store's series (the baseline, an older flashsale)
// is an error the comparison reports, not zeros it would print as figures.
func TestParseStoreMetricsMissingSeries(t *testing.T) {
	if _, err := parseSeries(bufio.NewScanner(strings.NewReader("flashsale_store_batches_total 1\n")), storeMetrics); err == nil {
		t.Fatal("parsed an exposition without most store series")
	}
}

func TestSQLiteProfileName(t *testing.T) {
	for in, want := range map[string]string{"": "", "cpu.pprof": "cpu.sqlite.pprof", "out/cpu": "out/cpu.sqlite"} {
		if got := sqliteProfile(in); got != want {
			t.Errorf("sqliteProfile(%q) = %q, want %q", in, got, want)
		}
	}
}

// The books check holds on the durable store too, over the whole stack.
func TestRunAgainstRealStackOnSQLiteBalances(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sale.db"), sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveStack(t, st)
	res, err := Run(t.Context(), Config{URL: srv.URL, Token: testToken, Inventory: 50, Concurrency: 16, Requests: 1000, Mix: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.BooksErr(); err != nil {
		t.Fatalf("%v\n%q", err, res.Violations)
	}
}
