package rules

import (
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

func TestScheduledSaleQueuesThenDraws(t *testing.T) {
	w := newWindowSale(t, seedsOf(7))
	opens := t0.Add(10 * time.Minute)
	st := w.init(t0, 2, false, sale.Window{OpensAt: opens})
	commitment := sale.Commitment(seedOf(7))
	want := sale.Status{Initialized: true, Total: 2, Available: 2, Phase: sale.PhaseScheduled, OpensAt: opens, DrawCommitment: commitment}
	if st != want {
		t.Fatalf("scheduled: %+v, want %+v", st, want)
	}
	if got := kinds(w.events); !slices.Equal(got, []sale.EventKind{sale.EventScheduled, sale.EventInitialized}) {
		t.Fatalf("events of a scheduled initialize: %v", got)
	}
	users := names("u", 5)
	for i, u := range users {
		w.queue(t0.Add(time.Duration(i)*time.Second), u, false)
	}
	w.queue(t0.Add(time.Minute), users[0], true)
	want.Prequeued = 5
	if st := w.Status(); st != want {
		t.Fatalf("with 5 queued: %+v, want %+v", st, want)
	}
	if got := w.Entrants(); !slices.Equal(got, users) {
		t.Fatalf("entrants before the draw: %v", got)
	}
	// Nothing is decided before the opening, to the microsecond.
	if w.Due(opens.Add(-time.Microsecond)) || w.Expire(opens.Add(-time.Microsecond)) != 0 || len(w.take()) != 0 {
		t.Fatal("something happened before the opening")
	}
	if !w.Due(opens) {
		t.Fatal("the draw is not due at the opening")
	}
	if n := w.Expire(opens); n != 0 {
		t.Fatalf("the draw expired %d holds", n)
	}
	drawn := w.take()
	if got := kinds(drawn); !slices.Equal(got, []sale.EventKind{sale.EventDrawn, sale.EventPromoted, sale.EventPromoted}) {
		t.Fatalf("events of the draw: %v", got)
	}
	for _, e := range drawn {
		if !e.At.Equal(opens) {
			t.Fatalf("%s stamped %v, want the opening %v", e.Kind, e.At, opens)
		}
	}
	order := sale.DrawOrder(seedOf(7), users)
	if got := w.order(users); !slices.Equal(got, order) {
		t.Fatalf("drawn order %v, want sale.DrawOrder's %v", got, order)
	}
	for _, u := range order[:2] {
		if r := w.User(u).Reservation; r == nil || !r.CreatedAt.Equal(opens) || !r.ExpiresAt.Equal(opens.Add(windowTTL)) {
			t.Fatalf("%s's hold from the draw: %+v", u, r)
		}
	}
	st = w.Status()
	want = sale.Status{Initialized: true, Total: 2, Held: 2, Waiting: 3, Phase: sale.PhaseOpen, OpensAt: opens,
		DrawCommitment: commitment, DrawSeed: hex.EncodeToString(seedOf(7))}
	if st != want {
		t.Fatalf("after the draw: %+v, want %+v", st, want)
	}
	if got := w.Entrants(); !slices.Equal(got, users) {
		t.Fatalf("entrants after the draw: %v", got)
	}
	// Someone arriving after the opening goes behind the drawn line, and
	// is no entrant of the draw.
	if res, err := w.Reserve(opens.Add(time.Second), "late"); err != nil || res.Position != 4 || res.Queued {
		t.Fatalf("a reserve after the opening: %+v, %v; want place 4", res, err)
	}
	w.take()
	if got := w.Entrants(); !slices.Equal(got, users) {
		t.Fatalf("entrants after a late arrival: %v", got)
	}
	w.replayed(append(users, "late"))
}

// A draw made late (no call came at the opening) is stamped at the opening:
// its holds count from then, and may be expired in the same step.
func TestALateDrawCountsFromTheOpening(t *testing.T) {
	w := newWindowSale(t, seedsOf(1))
	opens := t0.Add(time.Minute)
	w.init(t0, 1, false, sale.Window{OpensAt: opens})
	users := names("u", 3)
	for _, u := range users {
		w.queue(t0, u, false)
	}
	order := sale.DrawOrder(seedOf(1), users)
	now := opens.Add(windowTTL + time.Second)
	if n := w.Expire(now); n != 1 {
		t.Fatalf("a draw made a TTL after the opening expired %d holds, want the first", n)
	}
	events := w.take()
	wantKinds := []sale.EventKind{sale.EventDrawn, sale.EventPromoted, sale.EventExpired, sale.EventPromoted}
	wantAt := []time.Time{opens, opens, now, now}
	wantUser := []string{"", order[0], order[0], order[1]}
	if !slices.Equal(kinds(events), wantKinds) {
		t.Fatalf("events: %v, want %v", kinds(events), wantKinds)
	}
	for i, e := range events {
		if !e.At.Equal(wantAt[i]) || e.UserID != wantUser[i] {
			t.Fatalf("event %d: %s %s at %v, want %s at %v", i, e.Kind, e.UserID, e.At, wantUser[i], wantAt[i])
		}
	}
	if r := w.User(order[1]).Reservation; r == nil || !r.CreatedAt.Equal(now) {
		t.Fatalf("%s promoted at %v: %+v", order[1], now, r)
	}
	w.replayed(users)
}

func TestLeavingThePrequeue(t *testing.T) {
	w := newWindowSale(t, seedsOf(4))
	opens := t0.Add(time.Minute)
	w.init(t0, 0, false, sale.Window{OpensAt: opens})
	users := names("u", 4)
	for _, u := range users {
		w.queue(t0, u, false)
	}
	if err := w.Leave(t0, "u1"); err != nil {
		t.Fatal(err)
	}
	if e := w.take(); len(e) != 1 || e[0].Kind != sale.EventLeft || e[0].Position != 0 {
		t.Fatalf("leaving the pre-queue: %+v", e)
	}
	if err := w.Leave(t0, "u1"); !errors.Is(err, sale.ErrNotWaiting) {
		t.Fatalf("leaving twice: %v", err)
	}
	if st := w.User("u1"); st.State != sale.None || w.Status().Prequeued != 3 {
		t.Fatalf("u1 after leaving: %+v, %+v", st, w.Status())
	}
	if got := w.Entrants(); !slices.Equal(got, []string{"u0", "u2", "u3"}) {
		t.Fatalf("entrants: %v", got)
	}
	w.Leave(t0, "u2")
	w.take()
	w.queue(t0.Add(time.Second), "u1", false) // back, with the same chances
	w.Expire(opens)
	w.take()
	in := []string{"u0", "u1", "u3"}
	if got, want := w.order(users), sale.DrawOrder(seedOf(4), in); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if got := w.Entrants(); !slices.Equal(got, in) {
		t.Fatalf("entrants after the draw: %v", got)
	}
	w.replayed(users)
}

func TestResetDropsThePrequeue(t *testing.T) {
	w := newWindowSale(t, seedsOf(5))
	opens := t0.Add(time.Minute)
	first := w.init(t0, 1, false, sale.Window{OpensAt: opens}).DrawCommitment
	w.queue(t0, "alice", false)
	st := w.init(t0, 1, true, sale.Window{OpensAt: opens})
	if st.Prequeued != 0 || st.DrawCommitment == first || st.DrawCommitment != sale.Commitment(seedOf(6)) {
		t.Fatalf("a reset to a new scheduled sale: %+v, want an empty pre-queue and a new seed", st)
	}
	if u := w.User("alice"); u.State != sale.None || len(w.Entrants()) != 0 {
		t.Fatalf("alice after the reset: %+v", u)
	}
	w.queue(t0, "alice", false)
	st = w.init(t0, 1, true, sale.Window{})
	if st.Phase != sale.PhaseOpen || st.DrawCommitment != "" || !st.OpensAt.IsZero() || st.Prequeued != 0 {
		t.Fatalf("a reset to a sale with no window: %+v", st)
	}
	if res, err := w.Reserve(t0, "alice"); err != nil || res.Reservation == nil {
		t.Fatalf("reserve after the reset: %+v, %v", res, err)
	}
	w.take()
	w.replayed([]string{"alice"})
}

// A user who joins and leaves the pre-queue in a loop grows neither the
// pre-queue's slots nor the accounts, and the others' chances are kept.
func TestPrequeueChurnDoesNotGrow(t *testing.T) {
	w := newWindowSale(t, seedsOf(12))
	opens := t0.Add(time.Minute)
	w.init(t0, 0, false, sale.Window{OpensAt: opens})
	stay := names("stay-", 100)
	for _, u := range stay {
		w.Reserve(t0, u)
	}
	w.Take()
	accounts := len(w.accounts.list)
	churn := names("bot-", 3)
	for i := range 100_000 {
		u := churn[i%len(churn)]
		if res, err := w.Reserve(t0, u); err != nil || !res.Queued {
			t.Fatalf("join %d: %+v, %v", i, res, err)
		}
		if err := w.Leave(t0, u); err != nil {
			t.Fatalf("leave %d: %v", i, err)
		}
		w.Take()
		if n := len(w.window.pre.slots); n > 2*len(stay)+1024+len(churn) {
			t.Fatalf("after %d joins and leaves the pre-queue has %d slots for %d members", i+1, n, w.window.pre.size)
		}
	}
	if len(w.accounts.list) != accounts+len(churn) {
		t.Fatalf("%d accounts, then %d after the churn of %d users", accounts, len(w.accounts.list), len(churn))
	}
	if w.window.pre.size != len(stay) {
		t.Fatalf("pre-queue size %d, want %d", w.window.pre.size, len(stay))
	}
	w.Expire(opens)
	w.Take()
	got := make([]string, len(w.window.entrants))
	for i, r := range w.window.entrants {
		got[i] = w.accounts.id(r)
	}
	if want := sale.DrawOrder(seedOf(12), stay); !slices.Equal(got, want) {
		t.Fatal("after the churn, the draw is not sale.DrawOrder's")
	}
}
