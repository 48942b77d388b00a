package rules

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// BenchmarkDraw1M times the draw of a million pre-queued shoppers: the
// Expire at the opening that orders them and gives the first thousand their
// holds, all under the lock every call of the sale waits on (the issue's
// bound: under a second). Filling the pre-queue is not timed.
//
//	go test ./internal/rules -run '^$' -bench Draw1M -benchmem -benchtime 3x
func BenchmarkDraw1M(b *testing.B) {
	const n, units = 1_000_000, 1_000
	opens := t0.Add(time.Hour)
	users := make([]string, n)
	for i := range users {
		users[i] = "shopper-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := New(sale.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.InitializeWindow(t0, units, false, sale.Window{OpensAt: opens}); err != nil {
			b.Fatal(err)
		}
		for _, u := range users {
			if _, err := s.Reserve(t0, u); err != nil {
				b.Fatal(err)
			}
			s.Take()
		}
		// The filling's garbage is collected before the timing starts,
		// so that neither its collection nor its allocations are counted.
		runtime.GC()
		b.StartTimer()
		s.Expire(opens)
		b.StopTimer()
		if st := s.Status(); st.Held != units || st.Waiting != n-units {
			b.Fatalf("after the draw: %+v", st)
		}
		b.StartTimer()
	}
}
