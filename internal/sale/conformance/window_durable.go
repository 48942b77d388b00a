package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// The durable part (RunDurable): what a scheduled sale has, and the draw it
// made, are the same after a restart.
var windowDurableTests = []test{
	{"AScheduledSaleSurvivesARestart", aScheduledSaleSurvivesARestart},
	{"ADrawDueWhileNoServerRan", aDrawDueWhileNoServerRan},
	{"KeyedWindowAnswersSurviveARestart", keyedWindowAnswersSurviveARestart},
}

// aScheduledSaleSurvivesARestart: reopened before the opening, a sale
// keeps its pre-queue and its commitment; reopened after the draw, the
// same seed and the same order.
func aScheduledSaleSurvivesARestart(t *testing.T, f Factory) {
	h := start(t, f)
	opens, closes := t0.Add(time.Minute), t0.Add(time.Hour)
	c := h.initWindow(2, false, sale.Window{OpensAt: opens, ClosesAt: closes}).DrawCommitment
	users := make([]string, 6)
	for i := range users {
		users[i] = userName(i)
		h.queue(users[i], false, opens, c)
	}
	h.leave(users[2])
	before := h.snapshot(users, nil)
	h.reopen(f, ttl)
	if d := before.diff(h.snapshot(users, nil)); d != "" {
		t.Fatalf("reopened before the opening: %s", d)
	}
	st := h.wantScheduled(2, opens, 5, c)
	if !st.ClosesAt.Equal(closes) {
		t.Fatalf("reopened: %+v, want the close at %v", st, closes)
	}
	for i, u := range users {
		if i != 2 {
			h.wantQueued(u, opens, c)
		}
	}
	entrants := slices.Delete(slices.Clone(users), 2, 3)
	h.wantEntrants(entrants...)
	h.queue(users[0], true, opens, c)
	h.queue(users[2], false, opens, c) // back after the restart
	entrants = users

	h.at(opens)
	order := h.drawnOrder(c)
	h.wantDrawn(order, 2, opens)
	seed := h.status().DrawSeed
	var ids []string
	for _, u := range order[:2] {
		ids = append(ids, h.wantHolding(u).ID)
	}
	before = h.snapshot(users, ids)
	h.reopen(f, ttl)
	if d := before.diff(h.snapshot(users, ids)); d != "" {
		t.Fatalf("reopened after the draw: %s", d)
	}
	if st := h.status(); st.DrawSeed != seed || st.Phase != sale.PhaseOpen {
		t.Fatalf("reopened after the draw: %+v; want open, the seed %s", st, seed)
	}
	h.wantEntrants(entrants...)
	h.wantDrawn(order, 2, opens)
	// And the sale goes on down the drawn line.
	h.cancel(ids[0])
	h.freshHold(h.wantHolding(order[2]), order[2])
}

// aDrawDueWhileNoServerRan: the opening passes while no store is open; the
// next one draws as of the opening.
func aDrawDueWhileNoServerRan(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(1, opens)
	users := []string{"alice", "bob", "carol"}
	for _, u := range users {
		h.queue(u, false, opens, c)
	}
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	h.at(opens.Add(ttl / 2))
	h.s = f(t, sale.Config{HoldTTL: ttl, Clock: h.clock})
	order := h.drawnOrder(c)
	h.wantDrawn(order, 1, opens)
	before := h.snapshot(users, nil)
	h.reopen(f, ttl)
	if d := before.diff(h.snapshot(users, nil)); d != "" {
		t.Fatalf("reopened again: %s", d)
	}
	if got := h.drawnOrder(c); !slices.Equal(got, order) {
		t.Fatalf("reopened again: order %v, was %v", got, order)
	}
}

func keyedWindowAnswersSurviveARestart(t *testing.T, f Factory) {
	h := start(t, f)
	opens, closes := t0.Add(time.Minute), t0.Add(time.Hour)
	w := sale.Window{OpensAt: opens, ClosesAt: closes}
	first, err := h.do(windowCall(2, false, w), "init")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := h.reserveKeyed("alice", "r")
	h.reopen(f, ttl)
	if again, err := h.do(windowCall(2, false, w), "init"); err != nil || !again.Replayed || !sameStatus(again.Status, first.Status) {
		t.Fatalf("initialize retried after a restart: %+v, %v; want %+v, replayed", again, err, first.Status)
	}
	if q2, replayed := h.reserveKeyed("alice", "r"); !replayed || !sameReserve(q2, q) {
		t.Fatalf("queued reserve retried after a restart: %+v (replayed %v); want %+v", q2, replayed, q)
	}
	_, err = h.do(windowCall(2, false, sale.Window{OpensAt: opens}), "init")
	h.wantErr("another window with the key after a restart", err, sale.ErrKeyMismatch)
}
