package load

import (
	"context"
	"fmt"
	"net/http"
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
	m, err := ScrapeSeries(ctx, http.DefaultClient, baseURL, storeMetrics)
	if err != nil {
		return nil, fmt.Errorf("read store metrics: %w", err)
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
