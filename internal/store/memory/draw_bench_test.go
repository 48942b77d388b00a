package memory_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// The draw at a scheduled sale's opening, through the whole store, for
// `make bench` (issue 26: a million pre-queued shoppers drawn in under a
// second, reads answering meanwhile):
//
//	go test ./internal/store/memory -run '^$' -bench DrawAtOpening -benchtime 1x
//
// rules.BenchmarkDraw1M times the rules' draw alone; this one adds the
// store (its lock, the batch, the feed) and readers beside it.

const (
	drawEntrants = 1_000_000
	drawUnits    = 1_000
	drawReaders  = 2
	drawJoiners  = 4
	// The readers run this long before the draw: a warm-up, then the
	// baseline window, then the lead-in of the draw's window.
	drawWarmup   = 250 * time.Millisecond
	drawBaseline = time.Second
	// drawMargin is how far the draw's window reaches on either side of
	// the draw: reads that queued just before it, and the catch-up after.
	drawMargin = 250 * time.Millisecond
)

// readSample is one read: when it began and ended, in ns since the run's
// base instant.
type readSample struct{ start, end int64 }

// BenchmarkDrawAtOpening1M: 1,000,000 shoppers join the pre-queue of a
// sale of 1,000 units that opens an hour ahead on a fake clock; with
// readers calling Status and User for random shoppers throughout, the
// clock reaches the opening and Expire is called. The first call to find
// the opening passed, that Expire or a reader's read, makes the draw; the
// others wait for it. The timed part (ns/op, and draw-ms) runs from the
// clock's move until Expire returns: the draw, under the store's lock, and
// its batch. Filling the pre-queue is not timed.
//
// A read that begins at or after the opening must see the draw (it is a
// change the read makes first, or waits for), so reads cannot be answered
// while the draw holds the lock: they are delayed by at most the draw, and
// none may fail. The metrics compare the reads in a window around the draw
// with those in a baseline window of the same run with no draw.
func BenchmarkDrawAtOpening1M(b *testing.B) {
	users := make([]string, drawEntrants)
	for i := range users {
		users[i] = "shopper-" + strconv.Itoa(i) // 9–14 bytes
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runDrawAtOpening(b, users)
		b.StartTimer()
	}
}

func runDrawAtOpening(b *testing.B, users []string) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	opens := t0.Add(time.Hour)
	clock := clocktest.New(t0)
	s, err := memory.New(sale.Config{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Do(ctx, sale.Call{Op: sale.OpInitialize, Total: drawUnits, Window: sale.Window{OpensAt: opens}}, ""); err != nil {
		b.Fatal(err)
	}

	fill := time.Now()
	var wg sync.WaitGroup
	for w := range drawJoiners {
		wg.Go(func() {
			for i := w; i < len(users); i += drawJoiners {
				a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: users[i]}, "")
				if err != nil || !a.Reserve.Queued {
					b.Errorf("join %s: %+v, %v", users[i], a.Reserve, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.ReportMetric(float64(time.Since(fill).Nanoseconds())/float64(len(users)), "ns/join")
	before, err := s.Status(ctx)
	if err != nil || before.Phase != sale.PhaseScheduled || before.Prequeued != int64(len(users)) {
		b.Fatalf("before the opening: %+v, %v", before, err)
	}
	seen, _ := s.Newest(ctx)
	// The filling's garbage is collected now, not during the draw.
	runtime.GC()

	base := time.Now()
	since := func() int64 { return time.Since(base).Nanoseconds() }
	var (
		stop    atomic.Bool
		opened  atomic.Bool // the clock is at the opening: every read must see the draw
		failed  atomic.Int64
		samples [drawReaders][]readSample
		readers sync.WaitGroup
	)
	for r := range drawReaders {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 26))
			out := make([]readSample, 0, 1<<20)
			for i := 0; !stop.Load(); i++ {
				after := opened.Load()
				start := since()
				ok := true
				if i%2 == 0 {
					st, err := s.Status(ctx)
					ok = err == nil && st.Balanced() && (!after || st.Phase == sale.PhaseOpen)
				} else {
					u, err := s.User(ctx, users[rng.IntN(len(users))])
					ok = err == nil && (u.State == sale.Queued) == (u.Phase == sale.PhaseScheduled) && (!after || u.Phase == sale.PhaseOpen)
				}
				out = append(out, readSample{start, since()})
				if !ok {
					failed.Add(1)
				}
			}
			samples[r] = out
		})
	}
	time.Sleep(drawWarmup + drawBaseline + drawMargin)

	b.StartTimer()
	drawStart := since()
	clock.Set(opens)
	opened.Store(true)
	_, err = s.Expire(ctx)
	drawEnd := since()
	b.StopTimer()
	if err != nil {
		b.Fatalf("expire at the opening: %v", err)
	}
	time.Sleep(drawMargin)
	stop.Store(true)
	readers.Wait()

	// The draw was made once, and again is nothing.
	if n, err := s.Expire(ctx); err != nil || n != 0 {
		b.Fatalf("expire after the draw: %d, %v", n, err)
	}
	draws, promoted := 0, 0
	for {
		events, _, err := s.Events(ctx, seen, 4096)
		if err != nil {
			b.Fatal(err)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			switch e.Kind {
			case sale.EventDrawn:
				draws++
				if !e.At.Equal(opens) {
					b.Errorf("drawn at %v, want the opening %v", e.At, opens)
				}
			case sale.EventPromoted:
				promoted++
			}
		}
		seen = events[len(events)-1].Seq
	}
	held := min(drawUnits, int64(len(users)))
	st, err := s.Status(ctx)
	switch {
	case err != nil:
		b.Fatal(err)
	case draws != 1:
		b.Fatalf("%d draws, want 1", draws)
	case int64(promoted) != held:
		b.Fatalf("%d holds given by the draw, want %d", promoted, held)
	case st.Phase != sale.PhaseOpen || st.Held != held || st.Waiting != int64(len(users))-held ||
		st.Available != drawUnits-held || st.Prequeued != 0 || !st.Balanced():
		b.Fatalf("after the draw: %+v, want open, %d held, %d waiting", st, held, int64(len(users))-held)
	}
	if seed, err := sale.ParseSeed(st.DrawSeed); err != nil || sale.Commitment(seed) != before.DrawCommitment {
		b.Fatalf("seed %q (%v) does not match the commitment %s", st.DrawSeed, err, before.DrawCommitment)
	}

	reportDrawReads(b, samples[:], drawStart, drawEnd, failed.Load())
	runtime.KeepAlive(s)
}

// reportDrawReads reports the reads around the draw [start, end) against
// those of the baseline window before it, in which nothing but reads ran:
// their latency, and the longest time in which no reader got an answer
// (the stall a draw causes, if any).
func reportDrawReads(b *testing.B, samples [][]readSample, start, end int64, failed int64) {
	b.Helper()
	margin, baseline := drawMargin.Nanoseconds(), drawBaseline.Nanoseconds()
	var around, quiet, aroundEnds, quietEnds []int64
	answered, slowest, total := 0, int64(0), 0
	for _, out := range samples {
		total += len(out)
		for _, r := range out {
			d := r.end - r.start
			if r.end >= start && r.end < end {
				answered++
			}
			if r.start < end && r.end > start {
				slowest = max(slowest, d)
			}
			switch {
			case r.start >= start-margin && r.start < end+margin:
				around = append(around, d)
			case r.start >= start-margin-baseline && r.start < start-margin:
				quiet = append(quiet, d)
			}
			switch {
			case r.end >= start-margin && r.end < end+margin:
				aroundEnds = append(aroundEnds, r.end)
			case r.end >= start-margin-baseline && r.end < start-margin:
				quietEnds = append(quietEnds, r.end)
			}
		}
	}
	if len(quiet) == 0 || len(around) == 0 {
		b.Fatalf("%d reads in the baseline window, %d around the draw", len(quiet), len(around))
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	perSecond := func(n int, window int64) float64 { return float64(n) / (float64(window) / 1e9) }
	b.ReportMetric(ms(end-start), "draw-ms")
	b.ReportMetric(float64(answered), "reads-answered-in-draw")
	b.ReportMetric(ms(slowest), "read-max-over-draw-ms")
	b.ReportMetric(ms(percentile(around, 50)), "read-p50-draw-window-ms")
	b.ReportMetric(ms(percentile(quiet, 50)), "read-p50-baseline-ms")
	b.ReportMetric(ms(percentile(around, 99)), "read-p99-draw-window-ms")
	b.ReportMetric(ms(percentile(quiet, 99)), "read-p99-baseline-ms")
	b.ReportMetric(ms(slices.Max(quiet)), "read-max-baseline-ms")
	b.ReportMetric(ms(longestGap(aroundEnds)), "no-answer-max-draw-window-ms")
	b.ReportMetric(ms(longestGap(quietEnds)), "no-answer-max-baseline-ms")
	b.ReportMetric(perSecond(len(around), end-start+2*margin), "reads/s-draw-window")
	b.ReportMetric(perSecond(len(quiet), baseline), "reads/s-baseline")
	b.ReportMetric(float64(failed), "reads-failed")
	if failed != 0 {
		b.Fatalf("%d of %d reads failed or did not see the draw", failed, total)
	}
}

// longestGap returns the longest time between two consecutive instants of
// ts, sorting ts.
func longestGap(ts []int64) int64 {
	slices.Sort(ts)
	gap := int64(0)
	for i := 1; i < len(ts); i++ {
		gap = max(gap, ts[i]-ts[i-1])
	}
	return gap
}

// percentile returns the p-th percentile of ds (nearest rank), sorting ds.
func percentile(ds []int64, p int) int64 {
	slices.Sort(ds)
	i := (len(ds)*p+99)/100 - 1
	return ds[max(i, 0)]
}

// BenchmarkReservePrequeueParallel: distinct users each join a scheduled
// sale's pre-queue, computing their draw key (HMAC-SHA256 of the seed and
// their id) as they join: against BenchmarkReserveSoldOutParallel, a join
// into the line, in the same run, the key's cost to a join.
func BenchmarkReservePrequeueParallel(b *testing.B) {
	s, ctx := prequeueStore(b), context.Background()
	var ids userIDs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := sale.Reserve(ctx, s, ids.next()); err != nil || !res.Queued {
				b.Errorf("reserve: %+v, %v", res, err)
				return
			}
		}
	})
}

func prequeueStore(b *testing.B) *store.Store {
	b.Helper()
	s, err := memory.New(sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		b.Fatal(err)
	}
	w := sale.Window{OpensAt: time.Now().Add(24 * time.Hour)}
	if _, err := s.Do(context.Background(), sale.Call{Op: sale.OpInitialize, Total: 1, Window: w}, ""); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkDrawKey: the draw key alone, one HMAC-SHA256 of a short id.
func BenchmarkDrawKey(b *testing.B) {
	keys := sale.NewDrawKeys(make([]byte, sale.SeedSize))
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = "new-" + strconv.FormatUint(uint64(i), 36)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		keys.Key(ids[i&(len(ids)-1)])
	}
}
