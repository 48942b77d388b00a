package httpapi

import (
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key (user id), from golang.org/x/time/rate.
// What is ours is only the keyed map around the buckets: sharded so that
// users do not queue behind each other's lookups, and pruned so that a crowd
// of one-time users does not keep a bucket each forever. A bucket that has
// refilled to its burst is the same as a new one, so dropping it loses
// nothing.
type limiter struct {
	limit  rate.Limit
	burst  int
	seed   maphash.Seed
	shards [64]limiterShard
}

type limiterShard struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastPrune time.Time
}

// pruneEvery bounds how long a full bucket may linger.
const pruneEvery = time.Minute

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	l := &limiter{limit: rate.Limit(perSecond), burst: burst, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*rate.Limiter)
	}
	return l
}

// allow takes a token from key's bucket. When none is left it reports how
// long until one is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.lastPrune) > pruneEvery {
		sh.prune(now, float64(l.burst))
	}
	b := sh.buckets[key]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		sh.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// prune drops full buckets. The cost is one pass over the shard a minute,
// paid by whichever request comes first.
func (sh *limiterShard) prune(now time.Time, burst float64) {
	for k, b := range sh.buckets {
		if b.TokensAt(now) >= burst {
			delete(sh.buckets, k)
		}
	}
	sh.lastPrune = now
}
