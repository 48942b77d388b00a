package rules

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// The close, made late: the expiries due before it are made first, each at
// its time, promoting the line; then the close empties the line; then the
// expiries due after it give their units back to stock.
func TestTheClose(t *testing.T) {
	w := newWindowSale(t, nil)
	closes := t0.Add(90 * time.Second)
	w.init(t0, 2, false, sale.Window{ClosesAt: closes})
	a, _ := w.Reserve(t0, "a")             // expires t0+60s, before the close
	w.Reserve(t0.Add(40*time.Second), "b") // expires t0+100s, after it
	for _, u := range []string{"c", "d", "e"} {
		w.Reserve(t0.Add(50*time.Second), u)
	}
	w.take()
	now := t0.Add(200 * time.Second)
	if n := w.Expire(now); n != 3 {
		t.Fatalf("expired %d, want a's, b's and c's", n)
	}
	type ev struct {
		kind sale.EventKind
		user string
		at   time.Time
	}
	want := []ev{
		{sale.EventExpired, "a", a.Reservation.ExpiresAt},
		{sale.EventPromoted, "c", a.Reservation.ExpiresAt}, // c's hold: t0+60s..t0+120s
		{sale.EventClosed, "", closes},
		{sale.EventExpired, "b", now},
		{sale.EventExpired, "c", now},
	}
	got := w.take()
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", kinds(got), want)
	}
	for i, e := range got {
		if e.Kind != want[i].kind || e.UserID != want[i].user || !e.At.Equal(want[i].at) {
			t.Fatalf("event %d: %s %s at %v, want %+v", i, e.Kind, e.UserID, e.At, want[i])
		}
	}
	want2 := sale.Status{Initialized: true, Total: 2, Available: 2, Phase: sale.PhaseClosed, ClosesAt: closes}
	if st := w.Status(); st != want2 {
		t.Fatalf("closed: %+v, want %+v", st, want2)
	}
	for _, u := range []string{"d", "e"} {
		if st := w.User(u); st.State != sale.None || st.Phase != sale.PhaseClosed {
			t.Fatalf("%s after the close: %+v", u, st)
		}
	}
	if _, err := w.Reserve(now, "d"); !errors.Is(err, sale.ErrSaleClosed) {
		t.Fatalf("reserve after the close: %v", err)
	}
	if err := w.Leave(now, "e"); !errors.Is(err, sale.ErrNotWaiting) {
		t.Fatalf("leave after the close: %v", err)
	}
	w.replayed([]string{"a", "b", "c", "d", "e"})
}

// A hold given before the close is confirmed or cancelled after it; a
// cancelled unit goes to stock, not to anyone who waited.
func TestHoldsOutliveTheClose(t *testing.T) {
	w := newWindowSale(t, nil)
	closes := t0.Add(30 * time.Second)
	w.init(t0, 2, false, sale.Window{ClosesAt: closes})
	a, _ := w.Reserve(t0, "a")
	b, _ := w.Reserve(t0, "b")
	w.Reserve(t0, "c")
	w.take()
	if _, err := w.Confirm(closes, a.Reservation.ID); err != nil {
		t.Fatalf("confirm after the close: %v", err)
	}
	if _, err := w.Cancel(closes.Add(time.Second), b.Reservation.ID); err != nil {
		t.Fatalf("cancel after the close: %v", err)
	}
	if got := kinds(w.take()); !slices.Equal(got, []sale.EventKind{sale.EventClosed, sale.EventConfirmed, sale.EventCancelled}) {
		t.Fatalf("events: %v", got)
	}
	if st := w.Status(); st.Available != 1 || st.Confirmed != 1 || st.Waiting != 0 || w.User("c").State != sale.None {
		t.Fatalf("after the close: %+v, c %+v", st, w.User("c"))
	}
	w.replayed([]string{"a", "b", "c"})
}

// A clock that jumps over the whole window makes every step in the order
// it fell due: the draw, the expiries and promotions while open, the close,
// the expiries after it.
func TestJumpingOverTheWindow(t *testing.T) {
	w := newWindowSale(t, seedsOf(9))
	opens, closes := t0.Add(time.Minute), t0.Add(3*time.Minute+30*time.Second)
	w.init(t0, 1, false, sale.Window{OpensAt: opens, ClosesAt: closes})
	users := names("u", 5)
	for _, u := range users {
		w.queue(t0, u, false)
	}
	order := sale.DrawOrder(seedOf(9), users)
	now := t0.Add(time.Hour)
	w.Expire(now)
	type ev struct {
		kind sale.EventKind
		user string
		at   time.Time
	}
	want := []ev{
		{sale.EventDrawn, "", opens},
		{sale.EventPromoted, order[0], opens},
		{sale.EventExpired, order[0], opens.Add(windowTTL)},
		{sale.EventPromoted, order[1], opens.Add(windowTTL)},
		{sale.EventExpired, order[1], opens.Add(2 * windowTTL)},
		{sale.EventPromoted, order[2], opens.Add(2 * windowTTL)}, // expires opens+3m, after the close
		{sale.EventClosed, "", closes},
		{sale.EventExpired, order[2], now},
	}
	got := w.take()
	if len(got) != len(want) {
		t.Fatalf("events %v, want %+v", kinds(got), want)
	}
	for i, e := range got {
		if e.Kind != want[i].kind || e.UserID != want[i].user || !e.At.Equal(want[i].at) {
			t.Fatalf("event %d: %s %s at %v, want %+v", i, e.Kind, e.UserID, e.At, want[i])
		}
	}
	if st := w.Status(); st.Phase != sale.PhaseClosed || st.Available != 1 || st.Waiting != 0 {
		t.Fatalf("after the jump: %+v", st)
	}
	w.replayed(users)
}
