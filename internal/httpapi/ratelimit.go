package httpapi

import (
	"fmt"
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"
)

// limiter is a per-key rate limit with the semantics of a
// golang.org/x/time/rate token bucket (a fresh key may make burst requests
// at once, then one every interval), kept as GCRA: one number per key, its
// theoretical arrival time (TAT), the instant its bucket would be full again.
//
// Keys are not stored. Each hashes to `ways` cells of one table allocated
// once, as in a count-min sketch, and a key's TAT is the least of its cells.
// Admitting a request raises all the key's cells to the key's new TAT but
// never above it and never lowers any (conservative update). So every cell
// is at least the TAT of every key that maps to it, and a collision can only
// make a key more limited, never less. That costs a hash and a few atomic
// words per request, and no allocation, lock or map, whatever the crowd; see
// docs/ratelimit-notes.md for the false-limit odds and the measurements.
type limiter struct {
	interval  uint64 // T, in ns: the steady rate's spacing
	tolerance uint64 // τ = (burst-1)·T: how far ahead of now a TAT may run
	seed      maphash.Seed
	cells     []atomic.Uint64 // TATs, as enc stores them
}

const (
	// cellBits sizes the table: 2^21 cells of 8 bytes, 16 MiB per limiter.
	// A fresh key is refused only when each of its cells is held up by keys
	// that are being limited themselves: with 10,000 of those at once,
	// about 3 keys in a million. Two ways in 2^22 cells would take twice the
	// memory and, at 10,000, have eight times the odds.
	cellBits = 21
	ways     = 3

	// maxInterval clamps rates below one a day (and NaN) to one a day, and
	// maxTolerance clamps bursts to ten years' worth, so that TATs stay far
	// from overflowing and no wait exceeds a day plus however far the clock
	// went back.
	maxInterval  = 24 * time.Hour
	maxTolerance = 10 * 365 * 24 * time.Hour
)

// The ways indexes are cut from one 64-bit hash.
var _ [64 - ways*cellBits]struct{}

// The settings a rate limit may have: anything outside is a mistake, refused
// at start by CheckRateLimit rather than clamped. Below one attempt a day a
// limit is no longer a rate, above MaxRatePerSecond it no longer limits, and
// a burst above MaxRateBurst would let one user take a whole sale at once.
const (
	MinRatePerSecond = 1.0 / (24 * 60 * 60)
	MaxRatePerSecond = 1e6
	MaxRateBurst     = 1_000_000
)

// CheckRateLimit says whether perSecond and burst are a rate limit the
// server can enforce: perSecond 0 (off), or within MinRatePerSecond ..
// MaxRatePerSecond with burst within 1 .. MaxRateBurst. The server's flags
// and New use it, so the bounds are written once.
func CheckRateLimit(perSecond float64, burst int) error {
	switch {
	case perSecond == 0:
		return nil
	case math.IsNaN(perSecond) || perSecond < MinRatePerSecond || perSecond > MaxRatePerSecond:
		return fmt.Errorf("%v per second: want 0 (off), or from one a day (%.3g) to %g a second", perSecond, MinRatePerSecond, MaxRatePerSecond)
	case burst < 1 || burst > MaxRateBurst:
		return fmt.Errorf("a burst of %d: want 1 to %d attempts", burst, MaxRateBurst)
	}
	return nil
}

// newLimiter returns nil, no limiting, when perSecond <= 0. New passes it
// only settings CheckRateLimit accepts; for any other it still keeps its
// arithmetic safe (+Inf counts as one per nanosecond, NaN as one a day, a
// burst as at most ten years' worth) rather than trust its caller.
func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	ns := float64(time.Second) / perSecond
	interval := uint64(maxInterval)
	switch {
	case ns < 1:
		interval = 1
	case ns < float64(maxInterval):
		interval = uint64(ns + 0.5)
	}
	tolerance := uint64(maxTolerance)
	if n := uint64(max(burst, 1) - 1); n < tolerance/interval {
		tolerance = n * interval
	}
	return &limiter{
		interval:  interval,
		tolerance: tolerance,
		seed:      maphash.MakeSeed(),
		cells:     make([]atomic.Uint64, 1<<cellBits),
	}
}

// enc maps a time in Unix ns to a cell value, keeping the order, so that a
// zeroed cell reads as the earliest instant: any key whose cells are all zero
// is fresh, whatever the clock says.
func enc(ns int64) uint64 { return uint64(ns) ^ 1<<63 }

// allow admits one request for key at now, or reports how long until one
// would be admitted. now must lie within UnixNano's range (1678–2262, less
// maxTolerance); a clock that goes back only makes keys it has recently
// admitted wait longer, by at most how far it went back.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	idx := l.index(key)
	t := enc(now.UnixNano())
	for {
		// The least cell decides. Ties go to the lowest index so that keys
		// sharing all their cells contend on the same one.
		d, v := idx[0], l.cells[idx[0]].Load()
		for _, i := range idx[1:] {
			if c := l.cells[i].Load(); c < v || c == v && i < d {
				d, v = i, c
			}
		}
		tat := max(v, t)
		if tat-t > l.tolerance {
			return false, time.Duration(tat - t - l.tolerance)
		}
		next := tat + l.interval
		// Raise the other cells first and commit on the deciding one last:
		// a request that reads the commit then reads the raises too, and a
		// request that read the deciding cell before it fails its own CAS.
		// That is what keeps one key's concurrent requests within its rate.
		for _, i := range idx {
			if i != d {
				raise(&l.cells[i], next)
			}
		}
		if l.cells[d].CompareAndSwap(v, next) {
			return true, 0
		}
	}
}

// index returns key's cells: disjoint bits of one 64-bit hash serve as
// independent hashes.
func (l *limiter) index(key string) (idx [ways]uint32) {
	h := maphash.String(l.seed, key)
	for j := range idx {
		idx[j] = uint32(h>>(j*cellBits)) & (1<<cellBits - 1)
	}
	return idx
}

// raise sets c to at least v.
func raise(c *atomic.Uint64, v uint64) {
	for {
		old := c.Load()
		if old >= v || c.CompareAndSwap(old, v) {
			return
		}
	}
}
