package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

func nothingBeforeTheOpening(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(2, opens)
	h.queue("alice", false, opens, c)
	h.advance(10 * time.Second)
	h.queue("bob", false, opens, c)
	h.queue("alice", true, opens, c)
	h.wantScheduled(2, opens, 2, c)
	if u := h.user("nobody"); u.State != sale.None || u.Phase != sale.PhaseScheduled {
		t.Fatalf("a stranger before the opening: %+v", u)
	}
	// A microsecond before the opening, still nothing.
	h.at(opens.Add(-time.Microsecond))
	if n := h.expire(); n != 0 {
		t.Fatalf("expire before the opening: %d", n)
	}
	h.queue("carol", false, opens, c)
	h.wantScheduled(2, opens, 3, c)
	h.wantQueued("alice", opens, c)
	_, err := sale.Confirm(h.ctx, h.s, "no-such-hold")
	h.wantErr("confirm before the opening", err, sale.ErrReservationNotFound)
	want := []sale.EventKind{sale.EventScheduled, sale.EventInitialized, sale.EventQueued, sale.EventQueued, sale.EventQueued}
	events := h.events()
	if got := kindsSince(events, 0); !slices.Equal(got, want) {
		t.Fatalf("events before the opening: %s; want %v", showEvents(events), want)
	}
	if err := checkSeq(events); err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"alice", "bob", "carol"} {
		if e := events[2+i]; e.UserID != u {
			t.Fatalf("queued event %d is %s's, want %s's", i, e.UserID, u)
		}
	}
}

func leavingThePrequeue(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(1, opens)
	for _, u := range []string{"alice", "bob", "carol"} {
		h.queue(u, false, opens, c)
	}
	n := len(h.events())
	h.leave("bob")
	h.wantNone("bob")
	h.wantScheduled(1, opens, 2, c)
	h.wantEntrants("alice", "carol")
	if e := h.events()[n:]; len(e) != 1 || e[0].Kind != sale.EventLeft || e[0].UserID != "bob" || e[0].Position != 0 {
		t.Fatalf("leaving the pre-queue: %s; want bob left, at no place", showEvents(e))
	}
	h.wantErr("leave the pre-queue twice", h.s.Leave(h.ctx, "bob"), sale.ErrNotWaiting)
	h.wantErr("a stranger leaves", h.s.Leave(h.ctx, "nobody"), sale.ErrNotWaiting)
	// Back in, with the same chances as anyone; carol leaves for good.
	h.queue("bob", false, opens, c)
	h.leave("carol")
	h.wantEntrants("alice", "bob")
	h.at(opens)
	order := h.drawnOrder(c)
	if !slices.Equal(h.entrants(), []string{"alice", "bob"}) {
		t.Fatalf("entrants after the draw: %v", h.entrants())
	}
	h.wantDrawn(order, 1, opens)
	h.wantNone("carol")
}

func movingTheOpening(t *testing.T, f Factory) {
	h := start(t, f)
	first, later := t0.Add(time.Minute), t0.Add(3*time.Minute)
	c := h.schedule(2, first)
	h.queue("alice", false, first, c)
	h.queue("bob", false, first, c)
	h.advance(10 * time.Second)
	// Moved while scheduled: the pre-queue and the commitment are kept.
	st := h.initWindow(2, false, sale.Window{OpensAt: later})
	if st.DrawCommitment != c {
		t.Fatalf("moving the opening changed the commitment from %s to %s", c, st.DrawCommitment)
	}
	h.wantScheduled(2, later, 2, c)
	h.wantQueued("alice", later, c)
	h.queue("bob", true, later, c)
	// An initialize with no window keeps the times, and only sets the total.
	h.initWindow(3, false, sale.Window{})
	h.wantScheduled(3, later, 2, c)
	h.at(first)
	h.wantScheduled(3, later, 2, c) // no draw at the opening it was moved from
	// Moved to a time passed: open now, drawn now, holds from now.
	now := h.at(first.Add(30 * time.Second))
	st = h.initWindow(3, false, sale.Window{OpensAt: t0})
	if st.Phase != sale.PhaseOpen || !st.OpensAt.Equal(now) || st.DrawCommitment != c || st.Held != 2 {
		t.Fatalf("the opening moved to a time passed: %+v; want drawn now, %v, with the commitment %s", st, now, c)
	}
	h.wantDrawn(h.drawnOrder(c), 2, now)
}

func noMoveOnceOpen(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(1, opens)
	h.queue("alice", false, opens, c)
	h.at(opens.Add(time.Second))
	h.drawnOrder(c)
	h.refusedWindow(1, false, sale.Window{OpensAt: opens.Add(time.Hour)}, sale.ErrScheduleConflict)
	// Its opening again is no move, nor is any time already passed: the
	// sale is open since then, as asked, and an admin's retry is harmless.
	for _, again := range []time.Time{opens, opens.Add(-time.Second)} {
		if st := h.initWindow(1, false, sale.Window{OpensAt: again}); !st.OpensAt.Equal(opens) || st.DrawCommitment != c || st.Phase != sale.PhaseOpen {
			t.Fatalf("opens_at %v again, once open: %+v", again, st)
		}
	}
	// A sale open from its initialize cannot be scheduled after all.
	h.initWindow(1, true, sale.Window{})
	h.refusedWindow(1, false, sale.Window{OpensAt: h.now().Add(time.Hour)}, sale.ErrScheduleConflict)
	h.hold("bob")
}

func timesRefused(t *testing.T, f Factory) {
	h := start(t, f)
	// A new sale.
	for _, tc := range []struct {
		w   sale.Window
		err error
	}{
		{sale.Window{ClosesAt: t0.Add(-time.Second)}, sale.ErrScheduleConflict},
		{sale.Window{ClosesAt: t0}, sale.ErrScheduleConflict},
		{sale.Window{OpensAt: t0.Add(time.Minute), ClosesAt: t0.Add(-time.Minute)}, sale.ErrInvalid},
		{sale.Window{OpensAt: t0.Add(2 * time.Minute), ClosesAt: t0.Add(time.Minute)}, sale.ErrInvalid},
		{sale.Window{OpensAt: t0.Add(time.Minute), ClosesAt: t0.Add(time.Minute)}, sale.ErrInvalid},
	} {
		h.refusedWindow(1, false, tc.w, tc.err)
	}
	if st := h.status(); st.Initialized {
		t.Fatalf("refused initializes made a sale: %+v", st)
	}
	// An opening passed is an opening now: no draw.
	st := h.initWindow(1, false, sale.Window{OpensAt: t0.Add(-time.Hour), ClosesAt: t0.Add(time.Hour)})
	if st.Phase != sale.PhaseOpen || st.DrawCommitment != "" || st.DrawSeed != "" || !st.ClosesAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a sale whose opening passed: %+v; want open now with no draw, closing at %v", st, t0.Add(time.Hour))
	}
	h.wantEntrants()
	h.hold("alice")
	// A sale that runs: its close cannot move to a time passed.
	h.advance(time.Minute)
	h.refusedWindow(1, false, sale.Window{ClosesAt: t0}, sale.ErrScheduleConflict)
	// A scheduled one: its close cannot come before its opening, nor its
	// opening move past its close. The call's own times are each fine:
	// they conflict with the sale's.
	opens := h.now().Add(time.Hour)
	h.initWindow(1, true, sale.Window{OpensAt: opens})
	h.refusedWindow(1, false, sale.Window{ClosesAt: opens.Add(-time.Minute)}, sale.ErrScheduleConflict)
	h.refusedWindow(1, false, sale.Window{ClosesAt: opens}, sale.ErrScheduleConflict)
	if st := h.initWindow(1, false, sale.Window{ClosesAt: opens.Add(time.Minute)}); !st.ClosesAt.Equal(opens.Add(time.Minute)) || st.Phase != sale.PhaseScheduled {
		t.Fatalf("a close set after the opening: %+v", st)
	}
	h.refusedWindow(1, false, sale.Window{OpensAt: opens.Add(time.Minute)}, sale.ErrScheduleConflict)
	h.refusedWindow(1, false, sale.Window{OpensAt: opens.Add(2 * time.Minute)}, sale.ErrScheduleConflict)
}

func resetDropsThePrequeue(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(1, opens)
	h.queue("alice", false, opens, c)
	h.queue("bob", false, opens, c)
	// Reset to a new scheduled sale: a new seed, an empty pre-queue.
	later := t0.Add(2 * time.Minute)
	st := h.initWindow(1, true, sale.Window{OpensAt: later})
	if st.DrawCommitment == c {
		t.Fatalf("a new sale kept the old one's commitment %s", c)
	}
	c2 := st.DrawCommitment
	h.wantScheduled(1, later, 0, c2)
	h.wantNone("alice")
	h.wantEntrants()
	h.queue("bob", false, later, c2)
	// Reset to a sale with no window: open now, nobody queued.
	h.initWindow(1, true, sale.Window{})
	h.wantStatus(1, 1, 0, 0, 0)
	h.wantNone("bob")
	h.wantEntrants()
	h.at(later)
	h.hold("alice")
	h.wantStatus(1, 0, 1, 0, 0)
}

func keyedWindowAnswersReplay(t *testing.T, f Factory) {
	h := start(t, f)
	opens, closes := t0.Add(time.Minute), t0.Add(time.Hour)
	w := sale.Window{OpensAt: opens, ClosesAt: closes}
	first, err := h.do(windowCall(2, false, w), "init")
	if err != nil || first.Replayed {
		t.Fatalf("initialize: %+v, %v", first, err)
	}
	c := first.Status.DrawCommitment
	h.advance(time.Second)
	again, err := h.do(windowCall(2, false, w), "init")
	if err != nil || !again.Replayed || !sameStatus(again.Status, first.Status) {
		t.Fatalf("replayed initialize: %+v, %v; want %+v, replayed", again, err, first)
	}
	_, err = h.do(windowCall(2, false, sale.Window{OpensAt: opens.Add(time.Minute), ClosesAt: closes}), "init")
	h.wantErr("another window with the key", err, sale.ErrKeyMismatch)
	h.wantScheduled(2, opens, 0, c)

	q, replayed := h.reserveKeyed("alice", "r")
	if replayed || !q.Queued || q.DrawCommitment != c || !q.OpensAt.Equal(opens) {
		t.Fatalf("keyed reserve before the opening: %+v (replayed %v)", q, replayed)
	}
	q2, replayed := h.reserveKeyed("alice", "r")
	if !replayed || !sameReserve(q2, q) {
		t.Fatalf("its retry: %+v (replayed %v); want %+v", q2, replayed, q)
	}
	h.wantScheduled(2, opens, 1, c)
	// After the draw, the retry is the first answer still; alice holds.
	h.at(opens)
	q3, replayed := h.reserveKeyed("alice", "r")
	if !replayed || !sameReserve(q3, q) {
		t.Fatalf("its retry after the draw: %+v (replayed %v); want %+v", q3, replayed, q)
	}
	h.wantDrawn(h.drawnOrder(c), 2, opens)
	if again, err := h.do(windowCall(2, false, w), "init"); err != nil || !again.Replayed || !sameStatus(again.Status, first.Status) {
		t.Fatalf("replayed initialize after the draw: %+v, %v; want %+v", again, err, first.Status)
	}
}
