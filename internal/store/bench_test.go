package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// The store's micro-benchmarks, for `make bench`:
//
//	go test ./internal/store -run '^$' -bench 'Reserve|Confirm|Waitlist|Line' -benchmem
//	go test ./internal/store -run '^$' -bench 'MemoryPerWaitingUser' -benchtime 1x
//
// Waitlist and Line report ns/op at 1k, 100k and 1M waiting users: flat or
// growing by a constant step per tenfold is O(log n); growing tenfold would
// be O(n).

var sizes = []int{1_000, 100_000, 1_000_000}

func benchStore(b *testing.B, total int64) *Store {
	b.Helper()
	s, err := New(sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Initialize(context.Background(), total, false); err != nil {
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
			if res, err := s.Reserve(ctx, ids.next()); err != nil || res.Reservation == nil {
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
			if res, err := s.Reserve(ctx, ids.next()); err != nil || res.Position == 0 {
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
		if _, err := s.Reserve(ctx, "user-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 0))
		for pb.Next() {
			if res, err := s.Reserve(ctx, "user-"+strconv.Itoa(rng.IntN(waiting))); err != nil || !res.AlreadyWaiting {
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
				res, err := s.Reserve(ctx, "user-"+strconv.Itoa(i))
				if err != nil {
					b.Fatal(err)
				}
				holds[i] = res.Reservation.ID
			}
			confirm := func(id string) {
				if _, err := s.Confirm(ctx, id); err != nil {
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

// BenchmarkWaitlist1M times the line itself (no store, no locks): join,
// position, leave and promote, with n users waiting. Untimed refills keep
// the line between n and 2n long.
func BenchmarkWaitlist1M(b *testing.B) {
	b.Run("join", func(b *testing.B) {
		for _, n := range sizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				w, _ := filledLine(n)
				accts := make([]account, n)
				b.ResetTimer()
				for i := range b.N {
					if i > 0 && i%n == 0 {
						b.StopTimer()
						for range n {
							w.pop()
						}
						b.StartTimer()
					}
					w.push(&accts[i%n])
				}
			})
		}
	})
	b.Run("position", func(b *testing.B) {
		for _, n := range sizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				w, accts := filledLine(n)
				rng := rand.New(rand.NewPCG(1, 1))
				b.ResetTimer()
				sum := int64(0)
				for range b.N {
					sum += w.position(accts[rng.IntN(n)].ticket)
				}
				if sum == 0 {
					b.Fatal("no positions")
				}
			})
		}
	})
	b.Run("leave", func(b *testing.B) {
		for _, n := range sizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				w, accts := filledLine(n)
				live := len(accts)
				rng := rand.New(rand.NewPCG(1, 2))
				b.ResetTimer()
				for range b.N {
					if live == n/2 {
						b.StopTimer()
						for ; live < n; live++ {
							accts[live] = &account{}
							accts[live].ticket, _ = w.push(accts[live])
						}
						b.StartTimer()
					}
					i := rng.IntN(live)
					w.remove(accts[i].ticket)
					live--
					accts[i] = accts[live]
				}
			})
		}
	})
	b.Run("promote", func(b *testing.B) {
		for _, n := range sizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				w, _ := filledLine(n)
				b.ResetTimer()
				for range b.N {
					if w.len() == n/2 {
						b.StopTimer()
						for w.len() < n {
							w.push(&account{})
						}
						b.StartTimer()
					}
					w.pop()
				}
			})
		}
	})
}

// filledLine returns a line of n accounts, each holding its ticket as the
// store's accounts do.
func filledLine(n int) (*waitlist, []*account) {
	w := newWaitlist()
	accts := make([]*account, n)
	for i := range accts {
		accts[i] = &account{}
		accts[i].ticket, _ = w.push(accts[i])
	}
	return w, accts
}

// BenchmarkLine1M times the same operations through the whole store (user
// directory, sale lock, an event hook) with n users waiting in a sold-out
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
					if res, err := l.s.Reserve(l.ctx, id); err != nil || res.Position == 0 {
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
			l.batches(b, func(k int) {
				for _, id := range l.holds[:k] {
					r, err := l.s.Cancel(l.ctx, id)
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
	s        *Store
	holds    []string // live holds, to cancel
	promoted []string // holds given to the line since the last restore
}

func newLineBench(b *testing.B, n int) *lineBench {
	b.Helper()
	l := &lineBench{ctx: context.Background()}
	s, err := New(sale.Config{HoldTTL: sale.DefaultHoldTTL, OnEvent: func(e sale.Event) {
		if e.Kind == sale.EventPromoted {
			l.promoted = append(l.promoted, e.ReservationID)
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	l.s = s
	if _, err := s.Initialize(l.ctx, lineBatch, false); err != nil {
		b.Fatal(err)
	}
	for i := range lineBatch {
		res, err := s.Reserve(l.ctx, "holder-"+strconv.Itoa(i))
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

func (l *lineBench) user(i int) string { return "user-" + strconv.Itoa(i) }

func (l *lineBench) join(b *testing.B, id string) {
	if res, err := l.s.Reserve(l.ctx, id); err != nil || res.Position == 0 {
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
// reports the heap each one costs: for "store", everything the store keeps
// (account, user directory entry, line slot, the user id string itself);
// for "line", the waitlist's share alone.
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
			before := heapInUse()
			s := benchStore(b, 0)
			b.StartTimer()
			for _, id := range ids {
				if _, err := s.Reserve(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after := heapInUse()
			runtime.KeepAlive(s)
			// The ids were allocated before; a store that copies them pays
			// for the copy here, one that shares them does not.
			b.ReportMetric(float64(after-before)/n, "B/user")
			b.StartTimer()
		}
	})
	b.Run("line", func(b *testing.B) {
		accts := make([]account, n)
		for range b.N {
			b.StopTimer()
			before := heapInUse()
			b.StartTimer()
			w := newWaitlist()
			for i := range accts {
				w.push(&accts[i])
			}
			b.StopTimer()
			after := heapInUse()
			runtime.KeepAlive(w)
			b.ReportMetric(float64(after-before)/n, "B/user")
			b.StartTimer()
		}
	})
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkNewID: the price of an unguessable id, paid by every Reserve
// (even one that ends in the line, since the id is made before the lock).
func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = newID()
	}
}
