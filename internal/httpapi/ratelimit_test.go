package httpapi

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var limiterEpoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// exhaust spends key's burst at now and returns how many were admitted and
// the wait of the first refusal.
func exhaust(t *testing.T, l *limiter, key string, now time.Time, most int) (int, time.Duration) {
	t.Helper()
	for n := 0; n < most; n++ {
		if ok, wait := l.allow(key, now); !ok {
			return n, wait
		}
	}
	return most, 0
}

func TestLimiterBurstThenInterval(t *testing.T) {
	for _, c := range []struct {
		perSecond float64
		burst     int
		interval  time.Duration
	}{
		{5, 10, 200 * time.Millisecond},
		{1, 3, time.Second},
		{1, 1, time.Second},
		{1, 0, time.Second}, // burst < 1 is 1, as before
		{3, 2, 333333333},   // 1s/3, rounded to the ns
		{1e6, 1000, time.Microsecond},
	} {
		l := newLimiter(c.perSecond, c.burst)
		n, wait := exhaust(t, l, "alice", limiterEpoch, 2*max(c.burst, 1)+1)
		if want := max(c.burst, 1); n != want || wait != c.interval {
			t.Fatalf("%v/s burst %d: %d admitted then wait %v; want %d then %v", c.perSecond, c.burst, n, wait, want, c.interval)
		}
		if ok, _ := l.allow("alice", limiterEpoch.Add(wait-1)); ok {
			t.Fatalf("%v/s burst %d: admitted 1ns before the wait was over", c.perSecond, c.burst)
		}
		later := limiterEpoch.Add(wait)
		if ok, _ := l.allow("alice", later); !ok {
			t.Fatalf("%v/s burst %d: refused once the wait was over", c.perSecond, c.burst)
		}
		if ok, w := l.allow("alice", later); ok || w != c.interval {
			t.Fatalf("%v/s burst %d: after the refill got %v, %v; want a refusal for %v", c.perSecond, c.burst, ok, w, c.interval)
		}
		// A bucket refills to its burst and no further.
		if n, _ := exhaust(t, l, "alice", later.Add(time.Hour), 2*max(c.burst, 1)+1); n != max(c.burst, 1) {
			t.Fatalf("%v/s burst %d: %d admitted after an idle hour", c.perSecond, c.burst, n)
		}
	}
}

// TestLimiterMatchesTokenBucket holds the limiter to x/time/rate, which it
// replaced, on random traffic from a few keys. Times are random to the
// nanosecond so that the token bucket's floating point never meets an exact
// boundary.
func TestLimiterMatchesTokenBucket(t *testing.T) {
	const perSecond, burst = 5, 10
	l := newLimiter(perSecond, burst)
	keys := []string{"a", "b", "c", "d", "e"}
	buckets := map[string]*rate.Limiter{}
	for _, k := range keys {
		buckets[k] = rate.NewLimiter(perSecond, burst)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := limiterEpoch
	admitted := 0
	for i := 0; i < 20_000; i++ {
		// About twice the rate, with now and then a pause to refill.
		gap := 40 * time.Millisecond
		if rng.IntN(100) == 0 {
			gap = 5 * time.Second
		}
		now = now.Add(time.Duration(rng.Int64N(int64(gap))))
		k := keys[rng.IntN(len(keys))]
		got, wait := l.allow(k, now)
		b := buckets[k]
		want := b.AllowN(now, 1)
		if got != want {
			t.Fatalf("request %d by %s at +%v: allowed %v, token bucket %v", i, k, now.Sub(limiterEpoch), got, want)
		}
		if !got {
			want := time.Duration((1 - b.TokensAt(now)) / perSecond * float64(time.Second))
			if d := wait - want; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("request %d by %s: wait %v, token bucket %v", i, k, wait, want)
			}
		} else {
			admitted++
		}
	}
	if admitted < 4_000 || admitted > 16_000 {
		t.Fatalf("%d of 20000 admitted: the traffic did not exercise both answers", admitted)
	}
}

func TestLimiterSteadyRate(t *testing.T) {
	const perSecond, burst = 5, 10
	l := newLimiter(perSecond, burst)
	const span = 1000 * time.Second
	admitted := 0
	for d := time.Duration(0); d <= span; d += 7 * time.Millisecond {
		if ok, _ := l.allow("steady", limiterEpoch.Add(d)); ok {
			admitted++
		}
	}
	// burst at once, then one every 200ms; the last may fall between calls.
	if want := burst + int(span/(time.Second/perSecond)); admitted < want-1 || admitted > want {
		t.Fatalf("%d admitted over %v; want %d", admitted, span, want)
	}
}

func TestLimiterDistinctUsersAllAdmitted(t *testing.T) {
	l := newLimiter(5, 10)
	for i := 0; i < 100_000; i++ {
		if ok, _ := l.allow("crowd-"+strconv.Itoa(i), limiterEpoch); !ok {
			t.Fatalf("user %d of a crowd arriving at once was refused", i)
		}
	}
}

func TestLimiterAbuserDoesNotLimitOthers(t *testing.T) {
	const perSecond, burst = 5, 10
	l := newLimiter(perSecond, burst)
	admitted, falseLimits := 0, 0
	const users = 100_000
	span := time.Duration(0)
	for i := 0; i < users; i++ {
		now := limiterEpoch.Add(span)
		for range 10 {
			if ok, _ := l.allow("abuser", now); ok {
				admitted++
			}
		}
		if ok, _ := l.allow("fresh-"+strconv.Itoa(i), now); !ok {
			falseLimits++
		}
		span += time.Millisecond
	}
	if falseLimits != 0 {
		t.Fatalf("%d of %d fresh users limited beside one abuser", falseLimits, users)
	}
	if most := burst + int(span/(time.Second/perSecond)); admitted > most {
		t.Fatalf("abuser admitted %d times in %v; at most %d", admitted, span, most)
	}
}

// TestLimiterManyAbusers checks the notes' model of false limits: a fresh key
// is refused only when each of its cells is held up by keys being limited, so
// with a fraction f of cells held up, about f^ways of fresh keys are refused.
func TestLimiterManyAbusers(t *testing.T) {
	const abusers, fresh = 100_000, 100_000
	l := newLimiter(5, 10)
	for i := 0; i < abusers; i++ {
		exhaust(t, l, "abuser-"+strconv.Itoa(i), limiterEpoch, 11)
	}
	now := limiterEpoch.Add(time.Millisecond)
	held := 0
	for i := range l.cells {
		if c := l.cells[i].Load(); c > enc(now.UnixNano())+l.tolerance {
			held++
		}
	}
	f := float64(held) / float64(len(l.cells))
	want := math.Pow(f, ways) * fresh
	refused := 0
	for i := 0; i < fresh; i++ {
		if ok, _ := l.allow("fresh-"+strconv.Itoa(i), now); !ok {
			refused++
		}
	}
	t.Logf("%d abusers hold %.2f%% of cells; %d of %d fresh users refused, model %.0f", abusers, 100*f, refused, fresh, want)
	if d := math.Abs(float64(refused) - want); d > 5*math.Sqrt(want)+5 {
		t.Fatalf("%d fresh users refused; the model says %.0f", refused, want)
	}
}

// TestLimiterRepeatedCell: a key whose hash gives the same cell twice must
// not wait on itself.
func TestLimiterRepeatedCell(t *testing.T) {
	l := newLimiter(5, 10)
	key := ""
	for i := 0; key == ""; i++ {
		k := "k" + strconv.Itoa(i)
		idx := l.index(k)
		for j := range idx {
			for _, c := range idx[j+1:] {
				if c == idx[j] {
					key = k
				}
			}
		}
	}
	if n, wait := exhaust(t, l, key, limiterEpoch, 21); n != 10 || wait != 200*time.Millisecond {
		t.Fatalf("%d admitted then wait %v; want 10 then 200ms", n, wait)
	}
}

func TestLimiterNoAllocs(t *testing.T) {
	l := newLimiter(5, 10)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	i := 0
	if n := testing.AllocsPerRun(10_000, func() {
		l.allow(keys[i%len(keys)], limiterEpoch)
		i++
	}); n != 0 {
		t.Fatalf("%v allocations per allow", n)
	}
}

// TestLimiterConcurrentOneKey: however its requests interleave, a key is
// never admitted more than burst + elapsed/T times, alone or while other keys
// hammer every one of its cells. Each call moves a shared fake clock forward.
func TestLimiterConcurrentOneKey(t *testing.T) {
	const perSecond, burst = 1000, 10
	interval := time.Second / perSecond
	for _, crowded := range []bool{false, true} {
		l := newLimiter(perSecond, burst)
		keys := []string{"hot"}
		if crowded {
			keys = append(keys, neighbours(l, "hot")...)
		}
		var clock atomic.Int64
		admitted := make([]atomic.Int64, len(keys))
		const hotGoroutines, neighbourGoroutines, calls = 16, 4, 5000
		var wg sync.WaitGroup
		for g := range hotGoroutines + neighbourGoroutines*(len(keys)-1) {
			k := 0
			if g >= hotGoroutines {
				k = 1 + (g-hotGoroutines)/neighbourGoroutines
			}
			wg.Go(func() {
				for range calls {
					now := limiterEpoch.Add(time.Duration(clock.Add(int64(interval / 50))))
					if ok, _ := l.allow(keys[k], now); ok {
						admitted[k].Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Duration(clock.Load())
		most := burst + int(elapsed/interval)
		for k, key := range keys {
			if got := int(admitted[k].Load()); got > most {
				t.Fatalf("%s: %d admitted over %v; at most %d", key, got, elapsed, most)
			}
		}
		// Alone, the hot key gets about its rate; crowded, it may get less.
		if got := int(admitted[0].Load()); !crowded && got < most/2 {
			t.Fatalf("hot alone: %d admitted over %v; want about %d", got, elapsed, most)
		}
	}
}

// neighbours finds a key for each of key's cells that shares it.
func neighbours(l *limiter, key string) []string {
	var found []string
	want := l.index(key)
	for i := 0; len(found) < ways; i++ {
		n := "neighbour-" + strconv.Itoa(i)
		for _, c := range l.index(n) {
			if c == want[len(found)] {
				found = append(found, n)
				break
			}
		}
	}
	return found
}

func TestLimiterExtremeRates(t *testing.T) {
	for _, perSecond := range []float64{0, -1, math.Inf(-1)} {
		if newLimiter(perSecond, 10) != nil {
			t.Fatalf("newLimiter(%v) limits; want nil", perSecond)
		}
	}
	for _, perSecond := range []float64{1e-300, 1e-11, 1.0 / 86400, 1e-3, 1, 5, 1e6, 1e9, 1e12, math.Inf(1), math.NaN()} {
		for _, burst := range []int{-1, 1, 10, 1e6, math.MaxInt} {
			l := newLimiter(perSecond, burst)
			n, wait := exhaust(t, l, "x", limiterEpoch, 100)
			if n == 100 {
				if burst < 100 {
					t.Fatalf("%v/s burst %d: never refused", perSecond, burst)
				}
				continue
			}
			// As the handler computes Retry-After.
			secs := int((wait + time.Second - 1) / time.Second)
			if wait <= 0 || wait > maxInterval || secs < 1 || secs > 86400 {
				t.Fatalf("%v/s burst %d: wait %v, Retry-After %d", perSecond, burst, wait, secs)
			}
			if ok, _ := l.allow("x", limiterEpoch.Add(wait)); !ok {
				t.Fatalf("%v/s burst %d: refused after waiting %v", perSecond, burst, wait)
			}
		}
	}
}

func TestLimiterClockGoesBack(t *testing.T) {
	l := newLimiter(5, 10)
	exhaust(t, l, "alice", limiterEpoch, 11)
	back := limiterEpoch.Add(-time.Hour)
	ok, wait := l.allow("alice", back)
	if ok || wait <= 0 || wait > time.Hour+time.Second {
		t.Fatalf("an hour back: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("bob", back); !ok {
		t.Fatal("a fresh user was refused after the clock went back")
	}
	// Before the Unix epoch, too: a zeroed cell is the earliest instant.
	if ok, _ := l.allow("carol", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)); !ok {
		t.Fatal("a fresh user was refused in 1900")
	}
	if ok, _ := l.allow("alice", limiterEpoch.Add(time.Second)); !ok {
		t.Fatal("alice was refused once the clock came forward")
	}
}

// mapLimiter is the limiter this one replaced (sharded maps of x/time/rate
// buckets, pruned once a minute), kept here only to benchmark against.
type mapLimiter struct {
	limit  rate.Limit
	burst  int
	seed   maphash.Seed
	shards [64]mapLimiterShard
}

type mapLimiterShard struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastPrune time.Time
}

func newMapLimiter(perSecond float64, burst int) *mapLimiter {
	l := &mapLimiter{limit: rate.Limit(perSecond), burst: max(burst, 1), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*rate.Limiter)
	}
	return l
}

func (l *mapLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.lastPrune) > time.Minute {
		for k, b := range sh.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(sh.buckets, k)
			}
		}
		sh.lastPrune = now
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

type allower interface {
	allow(key string, now time.Time) (bool, time.Duration)
}

var implementations = []struct {
	name string
	make func(perSecond float64, burst int) allower
}{
	{"map", func(r float64, b int) allower { return newMapLimiter(r, b) }},
	{"gcra", func(r float64, b int) allower { return newLimiter(r, b) }},
}

// BenchmarkLimiterNewUsers: every call is a user not seen for over a minute,
// so the old limiter has pruned it and allocates it a bucket again. Users
// arrive 60µs apart; the 2^20 keys come round every 63s.
func BenchmarkLimiterNewUsers(b *testing.B) {
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			l := impl.make(5, 10)
			// Goroutine g of p takes users g, g+p, g+2p, ...
			p := uint64(runtime.GOMAXPROCS(0))
			var seq atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := seq.Add(1) - 1
				for pb.Next() {
					l.allow(keys[i%uint64(len(keys))], limiterEpoch.Add(time.Duration(i)*60*time.Microsecond))
					i += p
				}
			})
		})
	}
}

// BenchmarkLimiterSameUser: every goroutine on one key, either admitted every
// time (the load benchmarks' 1e6/s, burst 1e6) or refused every time after
// the burst (5/s, burst 10, at a stopped clock).
func BenchmarkLimiterSameUser(b *testing.B) {
	for _, impl := range implementations {
		for _, c := range []struct {
			name      string
			perSecond float64
			burst     int
			step      time.Duration
		}{
			{"admitted", 1e6, 1e6, 0},
			{"refused", 5, 10, 0},
		} {
			b.Run(impl.name+"/"+c.name, func(b *testing.B) {
				l := impl.make(c.perSecond, c.burst)
				var clock atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						// 1µs a call keeps the admitted case admitted.
						now := limiterEpoch.Add(time.Duration(clock.Add(int64(time.Microsecond))))
						if c.name == "refused" {
							now = limiterEpoch
						}
						l.allow("hot", now)
					}
				})
			})
		}
	}
}

// BenchmarkLimiterMemory: the heap a limiter holds after a million distinct
// users arriving 20µs apart (50,000 a second, so none is pruned yet). Each
// user id is a new string, as from a request body; the old limiter keeps it.
func BenchmarkLimiterMemory(b *testing.B) {
	const users = 1_000_000
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			var held int64
			for range b.N {
				before := heapInuse()
				l := impl.make(5, 10)
				for i := range users {
					l.allow("user-"+strconv.Itoa(i), limiterEpoch.Add(time.Duration(i)*20*time.Microsecond))
				}
				held = heapInuse() - before
				runtime.KeepAlive(l)
			}
			b.ReportMetric(float64(held), "B-held/1M-users")
		})
	}
}

func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// The settings a server may start with: a limit outside them is refused at
// start, not clamped into something the operator did not ask for (NaN used
// to switch limiting off; 1e-11 answered Retry-After: -9223372035).
func TestCheckRateLimit(t *testing.T) {
	for _, c := range []struct {
		perSecond float64
		burst     int
		ok        bool
	}{
		{0, 0, true}, // off: the burst does not matter
		{5, 10, true},
		{MinRatePerSecond, 1, true},
		{MaxRatePerSecond, MaxRateBurst, true},
		{math.NaN(), 10, false},
		{math.Inf(1), 10, false},
		{-1, 10, false},
		{1e-11, 10, false},
		{MaxRatePerSecond * 2, 10, false},
		{5, 0, false},
		{5, MaxRateBurst + 1, false},
	} {
		if err := CheckRateLimit(c.perSecond, c.burst); (err == nil) != c.ok {
			t.Errorf("CheckRateLimit(%v, %d) = %v, want ok %v", c.perSecond, c.burst, err, c.ok)
		}
	}
}
