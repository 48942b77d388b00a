package conformance

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// windowTests: a sale with a window (sale/window.go). Before the opening a
// reserve joins the pre-queue and nothing is granted; at the opening one
// draw, made by whatever call comes first and stamped at the opening,
// orders the pre-queue as sale.DrawOrder does with the seed the status
// committed to; after the close nothing is handed out and nobody waits.
// The clock is the harness's, so every instant is exact.
var windowTests = []test{
	{"NothingBeforeTheOpening", nothingBeforeTheOpening},
	{"LeavingThePrequeue", leavingThePrequeue},
	{"HoldsAppearAtTheOpening", holdsAppearAtTheOpening},
	{"AnyCallMakesTheDraw", anyCallMakesTheDraw},
	{"ALateDrawCountsFromTheOpening", aLateDrawCountsFromTheOpening},
	{"ArrivalsAfterTheOpeningGoBehind", arrivalsAfterTheOpeningGoBehind},
	{"EntrantsBeforeAndAfterTheDraw", entrantsBeforeAndAfterTheDraw},
	{"MovingTheOpening", movingTheOpening},
	{"NoMoveOnceOpen", noMoveOnceOpen},
	{"TimesRefused", timesRefused},
	{"TheClose", theClose},
	{"HoldsExpireToStockAfterTheClose", holdsExpireToStockAfterTheClose},
	{"AnExpiryBeforeTheClosePromotes", anExpiryBeforeTheClosePromotes},
	{"ResetDropsThePrequeue", resetDropsThePrequeue},
	{"KeyedWindowAnswersReplay", keyedWindowAnswersReplay},
	{"OneDrawWhateverRacesForIt", oneDrawWhateverRacesForIt},
	{"SeedsComeFromTheConfig", seedsComeFromTheConfig},
}

func windowCall(total int64, reset bool, w sale.Window) sale.Call {
	return sale.Call{Op: sale.OpInitialize, Total: total, Reset: reset, Window: w}
}

// initWindow initializes with the window w, expecting success, and checks
// that the status it returns is the store's.
func (h *harness) initWindow(total int64, reset bool, w sale.Window) sale.Status {
	h.t.Helper()
	a, err := h.do(windowCall(total, reset, w), "")
	if err != nil {
		h.t.Fatalf("initialize %d reset=%v window %+v: %v", total, reset, w, err)
	}
	st := a.Status
	if !st.Initialized || st.Total != total || !st.Balanced() {
		h.t.Fatalf("initialize %d reset=%v window %+v returned %+v", total, reset, w, st)
	}
	if got := h.status(); !sameStatus(got, st) {
		h.t.Fatalf("initialize returned %+v, then status is %+v", st, got)
	}
	return st
}

// refusedWindow initializes with the window w, expecting target, and checks
// that the sale did not change.
func (h *harness) refusedWindow(total int64, reset bool, w sale.Window, target error) {
	h.t.Helper()
	before := h.status()
	_, err := h.do(windowCall(total, reset, w), "")
	h.wantErr(fmt.Sprintf("initialize %d reset=%v window %+v", total, reset, w), err, target)
	if after := h.status(); !sameStatus(after, before) {
		h.t.Fatalf("a refused initialize changed the sale: %+v, then %+v", before, after)
	}
}

// schedule begins a sale of total units opening at opens, and returns the
// draw's commitment.
func (h *harness) schedule(total int64, opens time.Time) string {
	h.t.Helper()
	st := h.initWindow(total, false, sale.Window{OpensAt: opens})
	h.wantScheduled(total, opens, 0, st.DrawCommitment)
	return st.DrawCommitment
}

// wantScheduled checks the status of a sale of total units before its
// opening at opens: nothing granted, prequeued in the pre-queue, the
// commitment published (and the one given, if any) and no seed.
func (h *harness) wantScheduled(total int64, opens time.Time, prequeued int64, commitment string) sale.Status {
	h.t.Helper()
	st := h.status()
	if st.Phase != sale.PhaseScheduled || !st.OpensAt.Equal(opens) || st.Total != total || st.Available != total ||
		st.Held != 0 || st.Confirmed != 0 || st.Waiting != 0 || st.Prequeued != prequeued ||
		!isCommitment(st.DrawCommitment) || commitment != "" && st.DrawCommitment != commitment || st.DrawSeed != "" {
		h.t.Fatalf("status %+v; want scheduled at %v with %d of %d available, %d prequeued, commitment %q and no seed",
			st, opens, total, total, prequeued, commitment)
	}
	return st
}

func isCommitment(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && s == hex.EncodeToString(b)
}

// queue reserves for user before the opening at opens, expecting the
// pre-queue (again: the user was in it already).
func (h *harness) queue(user string, again bool, opens time.Time, commitment string) {
	h.t.Helper()
	res, err := sale.Reserve(h.ctx, h.s, user)
	if err != nil {
		h.t.Fatalf("reserve %s before the opening: %v", user, err)
	}
	if !res.Queued || res.AlreadyWaiting != again || res.Reservation != nil || res.Position != 0 ||
		!res.OpensAt.Equal(opens) || res.DrawCommitment != commitment {
		h.t.Fatalf("reserve %s before the opening: %+v; want queued (already %v) for the draw at %v committed to %s",
			user, res, again, opens, commitment)
	}
	h.wantQueued(user, opens, commitment)
}

func (h *harness) wantQueued(user string, opens time.Time, commitment string) {
	h.t.Helper()
	u := h.user(user)
	if u.State != sale.Queued || u.Position != 0 || u.Reservation != nil || u.Phase != sale.PhaseScheduled ||
		!u.OpensAt.Equal(opens) || u.DrawCommitment != commitment {
		h.t.Fatalf("user %s: %+v; want queued for the draw at %v committed to %s", user, u, opens, commitment)
	}
}

// revealed reads the seed the status reveals once the draw is made, and
// checks it against the commitment published before.
func (h *harness) revealed(commitment string) []byte {
	h.t.Helper()
	st := h.status()
	seed, err := sale.ParseSeed(st.DrawSeed)
	if err != nil {
		h.t.Fatalf("status after the opening %+v: %v", st, err)
	}
	if st.Phase == sale.PhaseScheduled || st.DrawCommitment != commitment || sale.Commitment(seed) != commitment {
		h.t.Fatalf("status after the opening %+v: the seed's commitment is %s, the one published before %s",
			st, sale.Commitment(seed), commitment)
	}
	return seed
}

// entrants reads the draw's entrants.
func (h *harness) entrants() []string {
	h.t.Helper()
	e, err := h.s.Entrants(h.ctx)
	if err != nil {
		h.t.Fatalf("entrants: %v", err)
	}
	if !slices.IsSorted(e) {
		h.t.Fatalf("entrants %v are not sorted by id", e)
	}
	return e
}

func (h *harness) wantEntrants(want ...string) {
	h.t.Helper()
	slices.Sort(want)
	if got := h.entrants(); !slices.Equal(got, want) {
		h.t.Fatalf("entrants %v, want %v", got, want)
	}
}

// drawnOrder is the order the draw gave the entrants, as the revealed seed
// and the entrants the store lists make it: what anyone can recompute.
func (h *harness) drawnOrder(commitment string) []string {
	h.t.Helper()
	return sale.DrawOrder(h.revealed(commitment), h.entrants())
}

// wantDrawn checks the sale as the draw left it: the first units of order
// hold units given at the opening, the others wait in drawn order.
func (h *harness) wantDrawn(order []string, units int, opens time.Time) {
	h.t.Helper()
	for i, u := range order {
		if i < units {
			r := h.wantHolding(u)
			if !r.CreatedAt.Equal(opens) || !r.ExpiresAt.Equal(opens.Add(ttl)) {
				h.t.Fatalf("%s, drawn %d of %d for %d units: %+v; want a hold from the opening %v", u, i+1, len(order), units, r, opens)
			}
			continue
		}
		h.wantWaiting(u, int64(i-units+1))
	}
}

// kindsSince returns the kinds of the events after the first n.
func kindsSince(events []sale.Event, n int) []sale.EventKind {
	var k []sale.EventKind
	for _, e := range events[n:] {
		k = append(k, e.Kind)
	}
	return k
}

func sameStatus(a, b sale.Status) bool {
	return a.Initialized == b.Initialized && a.Total == b.Total && a.Available == b.Available && a.Held == b.Held &&
		a.Confirmed == b.Confirmed && a.Waiting == b.Waiting && a.Phase == b.Phase && a.OpensAt.Equal(b.OpensAt) &&
		a.ClosesAt.Equal(b.ClosesAt) && a.Prequeued == b.Prequeued && a.DrawCommitment == b.DrawCommitment && a.DrawSeed == b.DrawSeed
}

func sameReserve(a, b sale.ReserveResult) bool {
	return (a.Reservation == nil) == (b.Reservation == nil) && (a.Reservation == nil || sameReservation(*a.Reservation, *b.Reservation)) &&
		a.Position == b.Position && a.AlreadyWaiting == b.AlreadyWaiting && a.Queued == b.Queued &&
		a.OpensAt.Equal(b.OpensAt) && a.DrawCommitment == b.DrawCommitment
}
