package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// concurrencyTests: the rules hold when everything happens at once. Run them
// under -race. Goroutines report with t.Errorf, never t.Fatal.
var concurrencyTests = []test{
	{"FiftyUsersTenUnits", fiftyForTen},
	{"DoubleClickInStock", doubleClickInStock},
	{"DoubleClickSoldOut", doubleClickSoldOut},
	{"ConfirmRacingExpiry", confirmRacingExpiry},
	{"ConfirmRacingCancel", confirmRacingCancel},
	{"Storm", storm},
	{"ResetUnderLoad", resetUnderLoad},
}

// together runs fn(0..n-1) in n goroutines released at one instant, and
// waits for all of them.
func together(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// fiftyForTen: 50 users race for 10 units; then all 10 holds expire at once
// while others read, and the first 10 in line get the units, in order.
func fiftyForTen(t *testing.T, f Factory) {
	h := start(t, f)
	h.init(10, false)
	results := make([]sale.ReserveResult, 50)
	together(50, func(i int) {
		res, err := sale.Reserve(h.ctx, h.s, userName(i))
		if err != nil {
			t.Errorf("reserve %s: %v", userName(i), err)
		}
		results[i] = res
	})
	if t.Failed() {
		t.FailNow()
	}
	var holders []string
	line := make([]string, 41) // line[p]: the user at position p
	for i, res := range results {
		u := userName(i)
		switch {
		case res.Reservation != nil && res.Position == 0:
			holders = append(holders, u)
		case res.Reservation == nil && !res.AlreadyWaiting && res.Position >= 1 && res.Position <= 40 && line[res.Position] == "":
			line[res.Position] = u
		default:
			t.Fatalf("reserve %s: %+v (position given twice or out of 1..40?)", u, res)
		}
	}
	if len(holders) != 10 {
		t.Fatalf("%d holds for 10 units", len(holders))
	}
	h.wantStatus(10, 0, 10, 0, 40)
	for p := 1; p <= 40; p++ {
		h.wantWaiting(line[p], int64(p))
	}

	// All ten holds were made at the same instant, so they expire together.
	// The clock is past it before anyone calls: whoever comes first applies
	// the expiry, and every call sees the line after it.
	promotedAt := h.at(h.wantHolding(holders[0]).ExpiresAt)
	var expired sync.Map
	together(20, func(i int) {
		switch i % 4 {
		case 0:
			n, err := h.s.Expire(h.ctx)
			if err != nil {
				t.Errorf("expire: %v", err)
			}
			expired.Store(i, n)
		case 1:
			if st, err := h.s.Status(h.ctx); err != nil || st.Held != 10 || st.Waiting != 30 || !st.Balanced() {
				t.Errorf("status after the expiry: %+v, %v; want 10 held, 30 waiting", st, err)
			}
		case 2:
			p := 1 + i/4 // 1..5
			if u, err := h.s.User(h.ctx, line[p]); err != nil || u.State != sale.Holding {
				t.Errorf("user %s, position %d before the expiry: %+v, %v; want holding", line[p], p, u, err)
			}
		case 3:
			p := 11 + i/4 // 11..15
			if u, err := h.s.User(h.ctx, line[p]); err != nil || u.State != sale.Waiting || u.Position != int64(p-10) {
				t.Errorf("user %s, position %d before the expiry: %+v, %v; want waiting at %d", line[p], p, u, err, p-10)
			}
		}
	})
	sum := 0
	expired.Range(func(_, n any) bool { sum += n.(int); return true })
	if sum > 10 {
		t.Errorf("Expire calls report %d expiries of 10 holds", sum)
	}
	h.wantStatus(10, 0, 10, 0, 30)
	for p := 1; p <= 10; p++ {
		r := h.wantHolding(line[p])
		if !r.CreatedAt.Equal(promotedAt) || !r.ExpiresAt.Equal(promotedAt.Add(ttl)) {
			t.Fatalf("%s promoted: %+v, want created %v", line[p], r, promotedAt)
		}
	}
	for p := 11; p <= 40; p++ {
		h.wantWaiting(line[p], int64(p-10))
	}
	for _, u := range holders {
		if last := h.wantNone(u); last == nil || last.Status != sale.Expired {
			t.Fatalf("%s after expiry: last hold %+v, want expired", u, last)
		}
	}
	var promoted []string
	for _, e := range h.events() {
		if e.Kind == sale.EventPromoted {
			promoted = append(promoted, e.UserID)
		}
	}
	if !slices.Equal(promoted, line[1:11]) {
		t.Fatalf("promoted in the order %q, want the line's order %q", promoted, line[1:11])
	}
	audit(t, h, 50, nil)
}

// doubleClickInStock: one user's many simultaneous reserves get one hold;
// every other answer is a conflict naming that hold.
func doubleClickInStock(t *testing.T, f Factory) {
	h := start(t, f)
	h.init(1000, false)
	for round := range 10 {
		user := fmt.Sprintf("clicker-%d", round)
		var mu sync.Mutex
		var holds []string
		var conflicts []string
		together(20, func(int) {
			res, err := sale.Reserve(h.ctx, h.s, user)
			mu.Lock()
			defer mu.Unlock()
			var ce *sale.ConflictError
			switch {
			case err == nil && res.Reservation != nil:
				holds = append(holds, res.Reservation.ID)
			case errors.As(err, &ce) && errors.Is(err, sale.ErrAlreadyReserved):
				conflicts = append(conflicts, ce.Reservation.ID)
			default:
				t.Errorf("reserve %s: %+v, %v", user, res, err)
			}
		})
		if len(holds) != 1 || len(conflicts) != 19 {
			t.Fatalf("%s clicked 20 times: %d holds, %d conflicts; want 1 and 19", user, len(holds), len(conflicts))
		}
		for _, id := range conflicts {
			if id != holds[0] {
				t.Fatalf("a conflict names %s, the hold is %s", id, holds[0])
			}
		}
		h.wantStatus(1000, 1000-int64(round+1), int64(round+1), 0, 0)
	}
}

// doubleClickSoldOut: one user's many simultaneous reserves take one place.
func doubleClickSoldOut(t *testing.T, f Factory) {
	h := start(t, f)
	h.init(1, false)
	h.hold("holder")
	for round := range 10 {
		user := fmt.Sprintf("clicker-%d", round)
		want := int64(round + 1)
		var joined atomic.Int32
		together(20, func(int) {
			res, err := sale.Reserve(h.ctx, h.s, user)
			if err != nil || res.Reservation != nil || res.Position != want {
				t.Errorf("reserve %s: %+v, %v; want position %d", user, res, err, want)
			}
			if !res.AlreadyWaiting {
				joined.Add(1)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		if n := joined.Load(); n != 1 {
			t.Fatalf("%s clicked 20 times: %d answers say they joined, want 1", user, n)
		}
		h.wantStatus(1, 0, 1, 0, want)
		h.wantWaiting(user, want)
	}
	line, err := replay(h.events())
	if err != nil {
		t.Fatal(err)
	}
	if len(line) != 10 {
		t.Fatalf("events show a line of %d, want 10: %q", len(line), line)
	}
}

// confirmRacingExpiry: a confirm that races the expiry either wins (and the
// purchase stands) or loses with ErrHoldExpired (and the unit is released);
// never both, never neither.
func confirmRacingExpiry(t *testing.T, f Factory) {
	h := start(t, f)
	const n = 100
	h.init(n, false)
	holds := make([]sale.Reservation, n)
	for i := range holds {
		holds[i] = h.hold(userName(i))
	}
	won := make([]bool, n)
	together(n+1, func(i int) {
		if i == n {
			h.clock.Set(holds[0].ExpiresAt)
			if _, err := h.s.Expire(h.ctx); err != nil {
				t.Errorf("expire: %v", err)
			}
			return
		}
		r, err := sale.Confirm(h.ctx, h.s, holds[i].ID)
		var ce *sale.ConflictError
		switch {
		case err == nil && r.Status == sale.Confirmed:
			won[i] = true
		case errors.As(err, &ce) && errors.Is(err, sale.ErrHoldExpired) && ce.Reservation.Status == sale.Expired:
		default:
			t.Errorf("confirm %s racing expiry: %+v, %v", holds[i].ID, r, err)
		}
	})
	confirmed := int64(0)
	for i, w := range won {
		want := sale.Expired
		if w {
			want = sale.Confirmed
			confirmed++
		}
		h.wantReservationStatus(holds[i].ID, want)
	}
	h.wantStatus(n, n-confirmed, 0, confirmed, 0)
	t.Logf("%d of %d confirms beat the expiry", confirmed, n)
}

// confirmRacingCancel: of a confirm and a cancel of one hold, exactly one
// wins, and the loser says why.
func confirmRacingCancel(t *testing.T, f Factory) {
	h := start(t, f)
	const n = 100
	h.init(n, false)
	holds := make([]sale.Reservation, n)
	for i := range holds {
		holds[i] = h.hold(userName(i))
	}
	confirmed := make([]bool, n)
	cancelled := make([]bool, n)
	together(2*n, func(i int) {
		id := holds[i/2].ID
		if i%2 == 0 {
			_, err := sale.Confirm(h.ctx, h.s, id)
			confirmed[i/2] = err == nil
			if err != nil && !errors.Is(err, sale.ErrHoldCancelled) {
				t.Errorf("confirm %s racing cancel: %v", id, err)
			}
		} else {
			_, err := sale.Cancel(h.ctx, h.s, id)
			cancelled[i/2] = err == nil
			if err != nil && !errors.Is(err, sale.ErrAlreadyConfirmed) {
				t.Errorf("cancel %s racing confirm: %v", id, err)
			}
		}
	})
	bought := int64(0)
	for i := range holds {
		if confirmed[i] == cancelled[i] {
			t.Fatalf("hold %s: confirm won %v, cancel won %v; want exactly one", holds[i].ID, confirmed[i], cancelled[i])
		}
		want := sale.Cancelled
		if confirmed[i] {
			want = sale.Confirmed
			bought++
		}
		h.wantReservationStatus(holds[i].ID, want)
	}
	h.wantStatus(n, n-bought, 0, bought, 0)
}
