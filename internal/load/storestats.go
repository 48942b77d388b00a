package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StoreStats is the real server's group commit during the measured run: the
// difference of its /metrics counters read as the run starts and as it
// ends, so the warm-up's batches are not in it.
type StoreStats struct {
	Batches    uint64        // transactions committed
	Calls      uint64        // calls decided in them
	Events     uint64        // events written
	CommitTime time.Duration // the writer's time beginning, deciding and committing
	// MaxBatch is the most calls in one batch since the server started,
	// warm-up included: a maximum cannot be split by subtraction.
	MaxBatch uint64
}

// MeanBatch is the mean number of calls per committed batch.
func (s StoreStats) MeanBatch() float64 { return ratio(float64(s.Calls), float64(s.Batches)) }

// plus is the stats of two stores that shared one sale: the sums, and the
// larger of the two largest batches.
func (s StoreStats) plus(o StoreStats) StoreStats {
	return StoreStats{
		Batches:    s.Batches + o.Batches,
		Calls:      s.Calls + o.Calls,
		Events:     s.Events + o.Events,
		CommitTime: s.CommitTime + o.CommitTime,
		MaxBatch:   max(s.MaxBatch, o.MaxBatch),
	}
}

// storeMetrics names the /metrics series StoreStats is read from.
var storeMetrics = []string{
	"flashsale_store_batches_total",
	"flashsale_store_batched_calls_total",
	"flashsale_store_events_total",
	"flashsale_store_commit_seconds_total",
	"flashsale_store_max_batch_calls",
}

const scrapeTimeout = 5 * time.Second

// scrapeStore reads the store's series from the server's /metrics.
func scrapeStore(ctx context.Context, baseURL string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("read store metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read store metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read store metrics: %s/metrics answered %d", baseURL, resp.StatusCode)
	}
	m, err := parseStoreMetrics(bufio.NewScanner(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("read store metrics from %s: %w", baseURL, err)
	}
	return m, nil
}

// parseStoreMetrics picks the store's series out of Prometheus text
// exposition. They carry no labels, so a line is just "name value".
func parseStoreMetrics(sc *bufio.Scanner) (map[string]float64, error) {
	want := make(map[string]bool, len(storeMetrics))
	for _, n := range storeMetrics {
		want[n] = true
	}
	m := make(map[string]float64, len(storeMetrics))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || !want[f[0]] {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f[0], err)
		}
		m[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range storeMetrics {
		if _, ok := m[n]; !ok {
			return nil, fmt.Errorf("no %s series", n)
		}
	}
	return m, nil
}

// storeDelta is what the store did between two scrapes.
func storeDelta(before, after map[string]float64) StoreStats {
	d := func(name string) float64 { return after[name] - before[name] }
	return StoreStats{
		Batches:    uint64(d("flashsale_store_batches_total")),
		Calls:      uint64(d("flashsale_store_batched_calls_total")),
		Events:     uint64(d("flashsale_store_events_total")),
		CommitTime: time.Duration(d("flashsale_store_commit_seconds_total") * float64(time.Second)),
		MaxBatch:   uint64(after["flashsale_store_max_batch_calls"]),
	}
}

// line is the stats for a person to read.
func (s StoreStats) line() string {
	if s.Batches == 0 {
		return "no batches (a store without a journal decides each call alone)"
	}
	return fmt.Sprintf("%d batches, %d calls, %d events: mean %.1f calls/batch, max %d; writer busy %s per batch",
		s.Batches, s.Calls, s.Events, s.MeanBatch(), s.MaxBatch, (s.CommitTime / time.Duration(s.Batches)).Round(time.Microsecond))
}
