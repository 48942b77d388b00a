package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/membench"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// The store's micro-benchmarks, for `make bench`:
//
//	go test ./internal/store/memory -run '^$' -bench 'Reserve|Confirm|Line' -benchmem
//	go test ./internal/store/memory -run '^$' -bench 'MemoryPerWaitingUser' -benchtime 1x
//
// Line reports ns/op at 1k, 100k and 1M waiting users: flat or growing by a
// constant step per tenfold is O(log n); growing tenfold would be O(n).

var sizes = []int{1_000, 100_000, 1_000_000}

func benchStore(b *testing.B, total int64) *store.Store {
	b.Helper()
	s, err := memory.New(sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sale.Initialize(context.Background(), s, total, false); err != nil {
		b.Fatal(err)
	}
	return s
}

// userIDs hands out distinct user ids to parallel goroutines.
type userIDs struct{ n atomic.Uint64 }

func (u *userIDs) next() string { return "new-" + strconv.FormatUint(u.n.Add(1), 36) }

// BenchmarkReserveParallel: distinct users each get a hold from a large stock.
func BenchmarkReserveParallel(b *testing.B) {
	s := benchStore(b, sale.MaxInventory)
	ctx := context.Background()
	var ids userIDs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := sale.Reserve(ctx, s, ids.next()); err != nil || res.Reservation == nil {
				b.Errorf("reserve: %+v, %v", res, err)
				return
			}
		}
	})
}

// BenchmarkReserveSoldOutParallel: distinct users each join the line.
func BenchmarkReserveSoldOutParallel(b *testing.B) {
	s := benchStore(b, 0)
	ctx := context.Background()
	var ids userIDs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := sale.Reserve(ctx, s, ids.next()); err != nil || res.Position == 0 {
				b.Errorf("reserve: %+v, %v", res, err)
				return
			}
		}
	})
}

// BenchmarkReserveRepeatParallel: users already in line ask again (the
// double click, the impatient refresh): no change, only a position lookup.
func BenchmarkReserveRepeatParallel(b *testing.B) {
	const waiting = 100_000
	s := benchStore(b, 0)
	ctx := context.Background()
	for i := range waiting {
		if _, err := sale.Reserve(ctx, s, "user-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 0))
		for pb.Next() {
			if res, err := sale.Reserve(ctx, s, "user-"+strconv.Itoa(rng.IntN(waiting))); err != nil || !res.AlreadyWaiting {
				b.Errorf("reserve: %+v, %v", res, err)
				return
			}
		}
	})
}

// BenchmarkConfirm confirms holds made beforehand, one after another and in
// parallel.
func BenchmarkConfirm(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			s := benchStore(b, sale.MaxInventory)
			ctx := context.Background()
			holds := make([]string, b.N)
			for i := range holds {
				res, err := sale.Reserve(ctx, s, "user-"+strconv.Itoa(i))
				if err != nil {
					b.Fatal(err)
				}
				holds[i] = res.Reservation.ID
			}
			confirm := func(id string) {
				if _, err := sale.Confirm(ctx, s, id); err != nil {
					b.Errorf("confirm: %v", err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !parallel {
				for _, id := range holds {
					confirm(id)
				}
				return
			}
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					confirm(holds[next.Add(1)-1])
				}
			})
		})
	}
}

// BenchmarkLine1M times the line's operations through the whole store (the
// rules, the lock, the feed) with n users waiting in a sold-out
// sale. Each timed batch is undone untimed, so the line stays n long.
func BenchmarkLine1M(b *testing.B) {
	for _, n := range sizes {
		// One store per size, shared by the sub-benchmarks (in this order)
		// and their b.N rounds: filling it is the slow part.
		var l *lineBench
		b.Run("join/n="+strconv.Itoa(n), func(b *testing.B) {
			l = newLineBench(b, n)
			var ids userIDs
			joined := make([]string, 0, lineBatch)
			l.batches(b, func(k int) {
				for range k {
					id := ids.next()
					if res, err := sale.Reserve(l.ctx, l.s, id); err != nil || res.Position == 0 {
						b.Fatalf("join: %+v, %v", res, err)
					}
					joined = append(joined, id)
				}
			}, func() {
				for _, id := range joined {
					l.leave(b, id)
				}
				joined = joined[:0]
			})
		})
		b.Run("position/n="+strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 3))
			l.batches(b, func(k int) {
				for range k {
					if u, err := l.s.User(l.ctx, l.user(rng.IntN(n))); err != nil || u.Position == 0 {
						b.Fatalf("position: %+v, %v", u, err)
					}
				}
			}, func() {})
		})
		b.Run("leave/n="+strconv.Itoa(n), func(b *testing.B) {
			perm := rand.New(rand.NewPCG(1, 4)).Perm(n)
			var left []string
			l.batches(b, func(k int) {
				for range k {
					id := l.user(perm[0])
					perm = append(perm[1:], perm[0])
					l.leave(b, id)
					left = append(left, id)
				}
			}, func() {
				for _, id := range left {
					l.join(b, id)
				}
				left = left[:0]
			})
		})
		b.Run("promote/n="+strconv.Itoa(n), func(b *testing.B) {
			// Cancel a hold: the head of the line gets the unit. The
			// canceller joins again at the back, untimed.
			var cancelled []string
			l.seen, _ = l.s.Newest(context.Background()) // promotions are read from here on
			l.batches(b, func(k int) {
				for _, id := range l.holds[:k] {
					r, err := sale.Cancel(l.ctx, l.s, id)
					if err != nil {
						b.Fatalf("cancel: %v", err)
					}
					cancelled = append(cancelled, r.UserID)
				}
				l.holds = l.holds[k:]
			}, func() {
				for _, u := range cancelled {
					l.join(b, u)
				}
				cancelled = cancelled[:0]
				l.readPromotions(b)
				l.holds = append(l.holds, l.promoted...)
				l.promoted = l.promoted[:0]
			})
		})
	}
}

// lineBatch is how many operations run between two untimed restores.
const lineBatch = 1000

type lineBench struct {
	ctx      context.Context
	s        *store.Store
	seen     uint64   // the last event read for promotions
	holds    []string // live holds, to cancel
	promoted []string // holds given to the line since the last restore
}

func newLineBench(b *testing.B, n int) *lineBench {
	b.Helper()
	l := &lineBench{ctx: context.Background()}
	s, err := memory.New(sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		b.Fatal(err)
	}
	l.s = s
	if _, err := sale.Initialize(l.ctx, s, lineBatch, false); err != nil {
		b.Fatal(err)
	}
	for i := range lineBatch {
		res, err := sale.Reserve(l.ctx, s, "holder-"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		l.holds = append(l.holds, res.Reservation.ID)
	}
	for i := range n {
		l.join(b, l.user(i))
	}
	return l
}

// readPromotions collects the holds the line was given, from the feed.
func (l *lineBench) readPromotions(b *testing.B) {
	for {
		events, _, err := l.s.Events(l.ctx, l.seen, 4096)
		if err != nil {
			b.Fatal(err)
		}
		if len(events) == 0 {
			return
		}
		for _, e := range events {
			if e.Kind == sale.EventPromoted {
				l.promoted = append(l.promoted, e.ReservationID)
			}
		}
		l.seen = events[len(events)-1].Seq
	}
}

func (l *lineBench) user(i int) string { return "user-" + strconv.Itoa(i) }

func (l *lineBench) join(b *testing.B, id string) {
	if res, err := sale.Reserve(l.ctx, l.s, id); err != nil || res.Position == 0 {
		b.Fatalf("join %s: %+v, %v", id, res, err)
	}
}

func (l *lineBench) leave(b *testing.B, id string) {
	if err := l.s.Leave(l.ctx, id); err != nil {
		b.Fatalf("leave %s: %v", id, err)
	}
}

// batches runs b.N operations as timed calls op(k), k ≤ lineBatch, each
// followed by an untimed restore.
func (l *lineBench) batches(b *testing.B, op func(k int), restore func()) {
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(lineBatch, b.N-done)
		op(k)
		done += k
		b.StopTimer()
		restore()
		b.StartTimer()
	}
}

// BenchmarkMemoryPerWaitingUser joins 1,000,000 users to a sold-out sale and
// reports the heap each one costs: everything the store keeps (account,
// map entry, line slot, the event in the feed). The line's share alone is
// rules.BenchmarkLineMemory.
func BenchmarkMemoryPerWaitingUser(b *testing.B) {
	const n = 1_000_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i) // 10–11 bytes, a short real-world id
	}
	b.Run("store", func(b *testing.B) {
		ctx := context.Background()
		for range b.N {
			b.StopTimer()
			before := membench.HeapInUse()
			s := benchStore(b, 0)
			b.StartTimer()
			for _, id := range ids {
				if _, err := sale.Reserve(ctx, s, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after := membench.HeapInUse()
			runtime.KeepAlive(s)
			// The ids were allocated before; a store that copies them pays
			// for the copy here, one that shares them does not.
			b.ReportMetric(float64(after-before)/n, "B/user")
			b.StartTimer()
		}
	})
}

// BenchmarkReserveIdempotencyKey: what a key costs a reserve in the store
// (the lookup, the answer kept, its share of expiry), distinct users each
// with a fresh key, against the same calls without one.
func BenchmarkReserveIdempotencyKey(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "no-key"
		if keyed {
			name = "key"
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, sale.MaxInventory)
			ctx := context.Background()
			var ids userIDs
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := ids.next()
					key := ""
					if keyed {
						key = "3f8a1c2e-" + id
					}
					if a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: id}, key); err != nil || a.Reserve.Reservation == nil {
						b.Errorf("reserve: %+v, %v", a, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMemoryPerKey reports the heap one kept key costs: 1,000,000
// users join a sold-out sale each with a 36-character key (a UUID's
// length), against the same joins without keys.
func BenchmarkMemoryPerKey(b *testing.B) {
	const n = 1_000_000
	ids, keys := make([]string, n), make([]string, n)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
		keys[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	heap := func(keyed bool) uint64 {
		before := membench.HeapInUse()
		s := benchStore(b, 0)
		for i, id := range ids {
			key := ""
			if keyed {
				key = keys[i]
			}
			if _, err := s.Do(context.Background(), sale.Call{Op: sale.OpReserve, UserID: id}, key); err != nil {
				b.Fatal(err)
			}
		}
		after := membench.HeapInUse()
		runtime.KeepAlive(s)
		return after - before
	}
	for range b.N {
		plain, keyed := heap(false), heap(true)
		b.ReportMetric(float64(keyed-plain)/n, "B/key")
	}
}
