package rules

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/flashsale/flashsale/internal/membench"
)

// The line's own micro-benchmarks (no store, no lock), for `make bench`:
//
//	go test ./internal/rules -run '^$' -bench 'Waitlist|LineMemory|NewID' -benchmem
//
// Waitlist reports ns/op at 1k, 100k and 1M waiting users: flat or growing
// by a constant step per tenfold is O(log n); growing tenfold would be O(n).

var sizes = []int{1_000, 100_000, 1_000_000}

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

// BenchmarkLineMemory reports the waitlist's share of a waiting user's heap.
func BenchmarkLineMemory(b *testing.B) {
	const n = 1_000_000
	accts := make([]account, n)
	for range b.N {
		b.StopTimer()
		before := membench.HeapInUse()
		b.StartTimer()
		w := newWaitlist()
		for i := range accts {
			w.push(&accts[i])
		}
		b.StopTimer()
		after := membench.HeapInUse()
		runtime.KeepAlive(w)
		b.ReportMetric(float64(after-before)/n, "B/user")
		b.StartTimer()
	}
}

// BenchmarkNewID: the price of an unguessable id, paid by every grant.
func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = newID()
	}
}
