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
				more := make([]ref, n)
				for i := range more {
					more[i] = w.accts.add("j" + strconv.Itoa(i))
				}
				b.ResetTimer()
				for i := range b.N {
					if i > 0 && i%n == 0 {
						b.StopTimer()
						for range n {
							w.pop()
						}
						b.StartTimer()
					}
					w.push(more[i%n])
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
					sum += w.position(w.accts.get(accts[rng.IntN(n)]).ticket)
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
							accts[live] = w.accts.add("x" + strconv.Itoa(live))
							w.push(accts[live])
						}
						b.StartTimer()
					}
					i := rng.IntN(live)
					w.remove(w.accts.get(accts[i]).ticket)
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
							w.push(w.accts.add("p" + strconv.Itoa(w.len())))
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
func filledLine(n int) (*waitlist, []ref) {
	w := newWaitlist(newAccounts())
	accts := make([]ref, n)
	for i := range accts {
		accts[i] = w.accts.add("u" + strconv.Itoa(i))
		w.push(accts[i])
	}
	return w, accts
}

// BenchmarkLineMemory reports the waitlist's share of a waiting user's heap.
func BenchmarkLineMemory(b *testing.B) {
	const n = 1_000_000
	accts := newAccounts()
	refs := make([]ref, n)
	for i := range refs {
		refs[i] = accts.add("u" + strconv.Itoa(i))
	}
	for range b.N {
		b.StopTimer()
		before := membench.HeapInUse()
		b.StartTimer()
		w := newWaitlist(accts)
		for _, r := range refs {
			w.push(r)
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
