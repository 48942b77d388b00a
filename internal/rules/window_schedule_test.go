package rules

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

func TestInitializeWindowRefuses(t *testing.T) {
	opens, closes := t0.Add(time.Hour), t0.Add(2*time.Hour)
	for _, tc := range []struct {
		name string
		win  sale.Window
		err  error
	}{
		{"closes in the past", sale.Window{ClosesAt: t0.Add(-time.Second)}, sale.ErrScheduleConflict},
		{"closes now", sale.Window{ClosesAt: t0}, sale.ErrScheduleConflict},
		{"closes before it opens", sale.Window{OpensAt: closes, ClosesAt: opens}, sale.ErrInvalid},
		{"closes as it opens", sale.Window{OpensAt: opens, ClosesAt: opens}, sale.ErrInvalid},
		{"opens long ago, closes before", sale.Window{OpensAt: t0.Add(-time.Hour), ClosesAt: t0.Add(-2 * time.Hour)}, sale.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindowSale(t, nil)
			if _, err := w.InitializeWindow(t0, 1, false, tc.win); !errors.Is(err, tc.err) {
				t.Fatalf("a new sale with %+v: %v, want %v", tc.win, err, tc.err)
			}
			if e := w.take(); len(e) != 0 || w.Status().Initialized {
				t.Fatalf("a refused initialize emitted %v", kinds(e))
			}
			// Refused the same way in a sale that runs, which is kept.
			w.init(t0, 1, false, sale.Window{})
			before := w.Status()
			if _, err := w.InitializeWindow(t0, 1, false, tc.win); !errors.Is(err, tc.err) {
				t.Fatalf("moving an open sale to %+v: %v, want %v", tc.win, err, tc.err)
			}
			if e := w.take(); len(e) != 0 || w.Status() != before {
				t.Fatalf("a refused initialize emitted %v", kinds(e))
			}
		})
	}
}

// A time the call sets may be fine alone and conflict with the sale's
// other, kept, time: that is a conflict with the schedule, not an invalid
// call.
func TestInitializeWindowRefusesAgainstTheSalesOwnTimes(t *testing.T) {
	opens, closes := t0.Add(time.Hour), t0.Add(2*time.Hour)
	w := newWindowSale(t, nil)
	w.init(t0, 1, false, sale.Window{OpensAt: opens, ClosesAt: closes})
	before := w.Status()
	for _, win := range []sale.Window{{ClosesAt: opens}, {ClosesAt: opens.Add(-time.Minute)}, {OpensAt: closes}, {OpensAt: closes.Add(time.Minute)}} {
		if _, err := w.InitializeWindow(t0, 1, false, win); !errors.Is(err, sale.ErrScheduleConflict) {
			t.Errorf("moving to %+v: %v, want %v", win, err, sale.ErrScheduleConflict)
		}
		if e := w.take(); len(e) != 0 || w.Status() != before {
			t.Fatalf("a refused initialize emitted %v", kinds(e))
		}
	}
	// Both moved at once, in order, is fine.
	st := w.init(t0, 1, false, sale.Window{OpensAt: closes.Add(time.Minute), ClosesAt: closes.Add(time.Hour)})
	if !st.OpensAt.Equal(closes.Add(time.Minute)) || !st.ClosesAt.Equal(closes.Add(time.Hour)) || st.DrawCommitment != before.DrawCommitment {
		t.Fatalf("both moved: %+v", st)
	}
}

func TestAnOpeningAlreadyPassedIsOpenNow(t *testing.T) {
	w := newWindowSale(t, nil)
	st := w.init(t0, 1, false, sale.Window{OpensAt: t0.Add(-time.Minute), ClosesAt: t0.Add(time.Hour)})
	if st.Phase != sale.PhaseOpen || st.DrawCommitment != "" || st.DrawSeed != "" || !st.ClosesAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a sale whose opening passed: %+v, want open now, with no draw, closing as asked", st)
	}
	if res, err := w.Reserve(t0, "alice"); err != nil || res.Reservation == nil {
		t.Fatalf("reserve: %+v, %v", res, err)
	}
	if got := w.Entrants(); len(got) != 0 {
		t.Fatalf("a sale with no draw has entrants %v", got)
	}
}

func TestMovingTheOpening(t *testing.T) {
	w := newWindowSale(t, seedsOf(3))
	first, later := t0.Add(time.Minute), t0.Add(2*time.Minute)
	commitment := w.init(t0, 1, false, sale.Window{OpensAt: first}).DrawCommitment
	w.queue(t0, "alice", false)
	w.queue(t0, "bob", false)
	st := w.init(t0.Add(time.Second), 1, false, sale.Window{OpensAt: later})
	if !st.OpensAt.Equal(later) || st.DrawCommitment != commitment || st.Prequeued != 2 || st.Phase != sale.PhaseScheduled {
		t.Fatalf("moved: %+v; want opening %v, the same commitment %s, the pre-queue kept", st, later, commitment)
	}
	if u := w.User("alice"); !u.OpensAt.Equal(later) {
		t.Fatalf("alice after the move: %+v", u)
	}
	// A zero window changes no time; another total is only that.
	if st := w.init(t0.Add(2*time.Second), 3, false, sale.Window{}); !st.OpensAt.Equal(later) || st.Total != 3 || st.Available != 3 {
		t.Fatalf("an initialize with no window: %+v", st)
	}
	if w.Expire(first) != 0 || len(w.take()) != 0 || w.Status().Phase != sale.PhaseScheduled {
		t.Fatal("drawn at the opening it was moved from")
	}
	// Moved to a time passed: drawn now, holds counted from now.
	now := first.Add(10 * time.Second)
	st = w.init(now, 3, false, sale.Window{OpensAt: t0})
	if st.Phase != sale.PhaseOpen || !st.OpensAt.Equal(now) || st.Held != 2 || st.DrawCommitment != commitment ||
		st.DrawSeed != hex.EncodeToString(seedOf(3)) {
		t.Fatalf("opening moved to the past: %+v, want drawn now", st)
	}
	for _, u := range []string{"alice", "bob"} {
		if r := w.User(u).Reservation; r == nil || !r.CreatedAt.Equal(now) {
			t.Fatalf("%s: %+v, want a hold from %v", u, r, now)
		}
	}
	// Once open, the opening stays; the same opening asked again is no move.
	if _, err := w.InitializeWindow(now, 3, false, sale.Window{OpensAt: later.Add(time.Hour)}); !errors.Is(err, sale.ErrScheduleConflict) {
		t.Fatalf("moving the opening of an open sale: %v", err)
	}
	if _, err := w.InitializeWindow(now, 3, false, sale.Window{OpensAt: now}); err != nil {
		t.Fatalf("the same opening again: %v", err)
	}
	// The close moves while the sale is open, to a time ahead.
	if st := w.init(now, 3, false, sale.Window{ClosesAt: now.Add(time.Hour)}); !st.ClosesAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("close set: %+v", st)
	}
	if st := w.init(now, 3, false, sale.Window{ClosesAt: now.Add(2 * time.Hour)}); !st.ClosesAt.Equal(now.Add(2 * time.Hour)) {
		t.Fatalf("close moved: %+v", st)
	}
	w.Expire(now.Add(3 * time.Hour))
	w.take()
	if _, err := w.InitializeWindow(now.Add(3*time.Hour), 3, false, sale.Window{ClosesAt: now.Add(4 * time.Hour)}); !errors.Is(err, sale.ErrScheduleConflict) {
		t.Fatalf("moving the close of a closed sale: %v", err)
	}
	w.replayed([]string{"alice", "bob"})
}
