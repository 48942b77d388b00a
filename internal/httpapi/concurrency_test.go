package httpapi_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/internal/testkit"
)

// The crowd through the whole stack: 50 users race for 10 units over real
// connections. Exactly 10 get holds, the other 40 get the positions 1..40,
// each once, and the books balance.
func TestCrowdThroughHTTP(t *testing.T) {
	h := newHarness(t)
	h.initialize(10)
	var (
		mu        sync.Mutex
		holds     = map[string]string{}
		positions []int
		wg        sync.WaitGroup
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user-%02d", i)
			resp := h.reserve(user)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case resp.JSON201 != nil:
				holds[user] = resp.JSON201.ReservationId
			case testkit.Waitlisted(resp) != nil:
				positions = append(positions, int(testkit.Waitlisted(resp).WaitlistPosition))
			default:
				t.Errorf("%s: %d %s", user, resp.StatusCode(), resp.Body)
			}
		}()
	}
	wg.Wait()
	if len(holds) != 10 {
		t.Fatalf("%d holds, want 10", len(holds))
	}
	sort.Ints(positions)
	for i, p := range positions {
		if p != i+1 {
			t.Fatalf("positions %v, want 1..40 each once", positions)
		}
	}
	if len(positions) != 40 {
		t.Fatalf("%d positions, want 40", len(positions))
	}
	st := h.status()
	if st.Held != 10 || st.Available != 0 || st.WaitlistSize != 40 || st.Available+st.Held+st.Confirmed != st.TotalInventory {
		t.Fatalf("books %+v", st)
	}
}
