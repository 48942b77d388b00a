package live

import (
	"sync"
	"time"
)

// WaitWindow is how far back the wait estimate looks: long enough to hold a
// few units even in a slow sale, short enough to follow a sale that speeds
// up or slows down.
const WaitWindow = 3 * time.Minute

const (
	// rateBuckets divide WaitWindow; the window slides a bucket at a time.
	rateBuckets = 36
	bucketWidth = WaitWindow / rateBuckets
	// minSpan keeps the first units after a start from reading as a
	// wild rate: one unit in the first 100 ms is not ten a second.
	minSpan = 30 * time.Second
)

// rate counts the units that reached the line over the last WaitWindow, in
// buckets, so that adding one and reading the rate cost O(rateBuckets) at
// most, however fast units come.
type rate struct {
	mu      sync.Mutex
	since   time.Time // counting began (the hub started, or the sale was reset)
	buckets [rateBuckets]struct {
		n     int64 // bucket number: time since the zero time / bucketWidth
		units int64
	}
}

func bucketOf(t time.Time) int64 { return t.UnixNano() / int64(bucketWidth) }

// restart forgets every unit counted: a new sale has a rate of its own.
func (r *rate) restart(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.since = now
	clear(r.buckets[:])
}

func (r *rate) add(at time.Time, units int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := bucketOf(at)
	b := &r.buckets[n%rateBuckets]
	if b.n != n {
		b.n, b.units = n, 0
	}
	b.units += units
}

// perSecond is the units per second over the window ending now, or 0.
func (r *rate) perSecond(now time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := bucketOf(now)
	var units int64
	for _, b := range r.buckets {
		if b.n > last-rateBuckets && b.n <= last {
			units += b.units
		}
	}
	if units == 0 {
		return 0
	}
	span := min(now.Sub(r.since), WaitWindow)
	span = max(span, minSpan)
	return float64(units) / span.Seconds()
}
