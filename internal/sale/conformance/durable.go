package conformance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Storage makes the storage of one test (a file, a database schema) and
// returns the Factory that opens a store on it. Each call of that Factory
// opens the same storage anew, as a restarted server would.
type Storage func(t *testing.T) Factory

// RunDurable is the suite's part for stores that keep the sale across a
// restart: what a store answered before it closed, it answers the same after
// it is opened again on the same storage, and holds that expired while no
// store was open are expired, their units going to the line, at the next
// open. It is separate from Run so that a memory store, which keeps nothing,
// need not run it, and a slow durable one can run it on its own.
func RunDurable(t *testing.T, storage Storage) {
	stop := watchdog(Timeout)
	defer stop()
	for _, tc := range slices.Concat(durableTests, windowDurableTests) {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, storage(t)) })
	}
}

// reopen closes the store and opens a new one on the same storage, with the
// same clock and the given hold TTL.
func (h *harness) reopen(f Factory, holdTTL time.Duration) {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("close before reopening: %v", err)
	}
	h.s = f(h.t, sale.Config{HoldTTL: holdTTL, Clock: h.clock})
}

// snapshot is everything the API shows of a sale, for the users and
// reservations a test knows of.
type snapshot struct {
	status sale.Status
	users  []sale.UserState
	holds  []sale.Reservation
	events []sale.Event
}

func (h *harness) snapshot(users, ids []string) snapshot {
	h.t.Helper()
	s := snapshot{status: h.status(), events: h.events()}
	for _, u := range users {
		s.users = append(s.users, h.user(u))
	}
	for _, id := range ids {
		s.holds = append(s.holds, h.reservation(id))
	}
	return s
}

// diff reports the first difference between two snapshots, or "".
func (s snapshot) diff(o snapshot) string {
	if s.status != o.status {
		return fmt.Sprintf("status %+v, then %+v", s.status, o.status)
	}
	for i := range s.users {
		a, b := s.users[i], o.users[i]
		if a.State != b.State || a.Position != b.Position || (a.Reservation == nil) != (b.Reservation == nil) ||
			a.Reservation != nil && !sameReservation(*a.Reservation, *b.Reservation) {
			return fmt.Sprintf("user %s: %s, then %s", a.UserID, show(a), show(b))
		}
	}
	for i := range s.holds {
		if !sameReservation(s.holds[i], o.holds[i]) {
			return fmt.Sprintf("reservation %+v, then %+v", s.holds[i], o.holds[i])
		}
	}
	if !slices.EqualFunc(s.events, o.events, sameEvent) {
		return fmt.Sprintf("events %s, then %s", showEvents(s.events), showEvents(o.events))
	}
	return ""
}

func sameEvent(a, b sale.Event) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.At.Equal(b.At) && a.UserID == b.UserID &&
		a.ReservationID == b.ReservationID && a.Position == b.Position && a.ExpiresAt.Equal(b.ExpiresAt) && a.Total == b.Total
}

var durableTests = []test{
	{"ConflictKeysSurviveARestart", func(t *testing.T, f Factory) {
		// A batch whose every call was refused commits keys and no event:
		// after a restart its retry is still answered as it was, though
		// the sale has changed since.
		h := start(t, f)
		_, err := h.do(reserveCall("alice"), "k1")
		h.wantErr("reserve before initialize", err, sale.ErrNotInitialized)
		h.reopen(f, ttl)
		h.init(1, false)
		a, err := h.do(reserveCall("alice"), "k1")
		h.wantErr("its retry after a restart", err, sale.ErrNotInitialized)
		if !a.Replayed {
			t.Fatal("the retry after a restart was not a replay")
		}
	}},

	{"KeysOutliveAResetAndARestart", func(t *testing.T, f Factory) {
		// A reset drops the events before it, never keys: after a restart
		// an admin's retried reset is answered, not made again, and so is
		// a shopper's retry from the sale before it.
		h := start(t, f)
		h.init(2, false)
		first, _ := h.reserveKeyed("alice", "a")
		if _, err := h.do(initializeCall(5, true), "reset"); err != nil {
			t.Fatal(err)
		}
		h.hold("bob")
		h.reopen(f, ttl)
		if a, err := h.do(initializeCall(5, true), "reset"); err != nil || !a.Replayed {
			t.Fatalf("retried reset after a restart: %v (replayed %v)", err, a.Replayed)
		}
		h.wantStatus(5, 4, 1, 0, 0) // bob's hold, kept
		again, replayed := h.reserveKeyed("alice", "a")
		if !replayed || !reflect.DeepEqual(again, first) {
			t.Fatalf("alice's retry: %+v (replayed %v); want her first answer %+v", again, replayed, first)
		}
	}},

	{"KeyedAnswersSurviveARestart", func(t *testing.T, f Factory) {
		// Each kind of answer, kept, read back after a restart to the
		// microsecond: a status, a hold, a place in line, a conflict
		// carrying its hold, an inventory conflict, a confirmation.
		h := start(t, f)
		type call struct {
			name string
			call func() sale.Call // read when made: confirm needs alice's hold
		}
		var alice sale.Reservation
		calls := []call{
			{"initialize", func() sale.Call { return initializeCall(1, false) }},
			{"reserve alice", func() sale.Call { return reserveCall("alice") }},
			{"reserve bob", func() sale.Call { return reserveCall("bob") }},
			{"reserve alice again", func() sale.Call { return reserveCall("alice") }},
			{"initialize below taken", func() sale.Call { return initializeCall(0, false) }},
			{"confirm alice", func() sale.Call { return confirmCall(alice.ID) }},
		}
		type answer struct {
			v   sale.Answer
			err string
		}
		first := make([]answer, len(calls))
		for i, c := range calls {
			h.advance(time.Second)
			a, err := h.do(c.call(), fmt.Sprintf("key-%d", i))
			if i == 1 && err == nil && a.Reserve.Reservation != nil {
				alice = *a.Reserve.Reservation
			}
			a.Err = nil // compared by its text
			first[i] = answer{a, fmt.Sprint(err)}
		}
		h.reopen(f, ttl)
		for i, c := range calls {
			a, err := h.do(c.call(), fmt.Sprintf("key-%d", i))
			replayed := a.Replayed
			a.Err, a.Replayed = nil, false
			if got := (answer{a, fmt.Sprint(err)}); !replayed || !reflect.DeepEqual(got.v, first[i].v) || (err == nil) != (first[i].err == "<nil>") {
				t.Errorf("%s after a restart: %+v, %s (replayed %v); first answer %+v, %s", c.name, got.v, got.err, replayed, first[i].v, first[i].err)
			}
			var c1 *sale.ConflictError
			if errors.As(err, &c1) && !sameReservation(c1.Reservation, alice) {
				t.Errorf("%s after a restart: conflict on %+v, want alice's hold %+v", c.name, c1.Reservation, alice)
			}
			var inv *sale.InventoryError
			if errors.As(err, &inv) && (inv.Total != 0 || inv.Taken != 1) {
				t.Errorf("%s after a restart: %v, want total 0, taken 1", c.name, err)
			}
		}
		h.wantStatus(1, 0, 0, 1, 1)
	}},

	{"RestartKeepsTheSale", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		a := h.hold("alice")
		b := h.hold("bob")
		h.confirm(b.ID)
		c := h.hold("carol")
		h.advance(time.Second)
		h.cancel(c.ID)
		d := h.hold("dave")
		for i := range 5 {
			h.wait(userName(i), int64(i+1))
		}
		h.leave(userName(2))
		h.advance(time.Minute)
		users := []string{"alice", "bob", "carol", "dave", "nobody"}
		for i := range 5 {
			users = append(users, userName(i))
		}
		ids := []string{a.ID, b.ID, c.ID, d.ID}
		before := h.snapshot(users, ids)

		h.reopen(f, ttl)
		if d := before.diff(h.snapshot(users, ids)); d != "" {
			t.Fatalf("after a restart: %s", d)
		}
		// The sale goes on where it stopped: the line's head gets the next
		// unit, and the feed goes on without a gap.
		h.cancel(a.ID)
		p := h.wantHolding(userName(0))
		h.wantWaiting(userName(1), 1)
		h.wantWaiting(userName(3), 2)
		after := h.events()
		if err := checkSeq(after); err != nil || len(after) != len(before.events)+2 {
			t.Fatalf("events after the restart: %s (%v); before it: %d", showEvents(after), err, len(before.events))
		}
		if e := after[len(after)-1]; e.Kind != sale.EventPromoted || e.ReservationID != p.ID {
			t.Fatalf("last event %s, want %s promoted", showEvents(after[len(after)-1:]), userName(0))
		}
	}},

	{"ExpiredWhileClosed", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		b := h.hold("bob")
		for i := range 3 {
			h.wait(userName(i), int64(i+1))
		}
		if err := h.s.Close(); err != nil {
			t.Fatal(err)
		}
		// Nobody runs the sale while the holds run out.
		reopened := h.at(a.ExpiresAt.Add(10 * time.Second))
		h.s = f(t, sale.Config{HoldTTL: ttl, Clock: h.clock})
		// Expired at the open, before any call: the feed says so already.
		events := h.events()
		kinds := []sale.EventKind{}
		for _, e := range events[len(events)-4:] {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, []sale.EventKind{sale.EventExpired, sale.EventPromoted, sale.EventExpired, sale.EventPromoted}) {
			t.Fatalf("events after opening past the expiry: %s", showEvents(events))
		}
		h.wantReservationStatus(a.ID, sale.Expired)
		h.wantReservationStatus(b.ID, sale.Expired)
		for i := range 2 {
			r := h.wantHolding(userName(i))
			if !r.CreatedAt.Equal(reopened) || !r.ExpiresAt.Equal(reopened.Add(ttl)) {
				t.Fatalf("%s promoted at the open: %+v, want created %v", userName(i), r, reopened)
			}
		}
		h.wantWaiting(userName(2), 1)
		h.wantStatus(2, 0, 2, 0, 1)
		// What the open decided is as durable as any answer.
		users := []string{"alice", "bob", userName(0), userName(1), userName(2)}
		before := h.snapshot(users, []string{a.ID, b.ID})
		h.reopen(f, ttl)
		if d := before.diff(h.snapshot(users, []string{a.ID, b.ID})); d != "" {
			t.Fatalf("after a second restart: %s", d)
		}
	}},

	{"NotYetExpiredKeepsItsExpiry", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("bob", 1)
		h.advance(ttl / 2)
		// A server restarted with another TTL: holds made before keep the
		// expiry they were given; new ones get the new TTL.
		h.reopen(f, 2*ttl)
		if r := h.wantHolding("alice"); !sameReservation(r, a) {
			t.Fatalf("alice's hold after a restart: %+v, was %+v", r, a)
		}
		h.at(a.ExpiresAt.Add(-time.Microsecond))
		h.wantHolding("alice")
		h.at(a.ExpiresAt)
		h.wantReservationStatus(a.ID, sale.Expired)
		if r := h.wantHolding("bob"); !r.ExpiresAt.Equal(a.ExpiresAt.Add(2 * ttl)) {
			t.Fatalf("bob's hold, made after a restart with TTL %v: %+v", 2*ttl, r)
		}
	}},

	{"ResetSurvivesRestart", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("bob", 1)
		h.init(5, true)
		h.reopen(f, ttl)
		h.wantStatus(5, 5, 0, 0, 0)
		h.wantNone("alice")
		h.wantNone("bob")
		_, err := h.s.Reservation(h.ctx, a.ID)
		h.wantErr("a reservation of the old sale", err, sale.ErrReservationNotFound)
		events := h.events()
		if len(events) == 0 || events[0].Kind != sale.EventReset {
			t.Fatalf("the feed after a restart starts with %s, want the reset", showEvents(events[:min(1, len(events))]))
		}
		if u, err := h.s.User(h.ctx, "bob"); err != nil || u.Sale != events[0].Seq || u.Seq != lastSeq(events) {
			t.Fatalf("bob after a restart: %+v, %v; want the sale begun at %d, as of %d", u, err, events[0].Seq, lastSeq(events))
		}
		h.hold("alice") // the old sale's holder buys again in the new one
	}},

	{"FeedAcrossRestart", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		h.hold("alice")
		for i := range 10 {
			h.wait(userName(i), int64(i+1))
		}
		before := h.events()
		h.reopen(f, ttl)
		// A consumer that saw the first few events comes back after the
		// restart and gets exactly the rest.
		rest, _, err := h.s.Events(h.ctx, before[3].Seq, 100)
		if err != nil || !slices.EqualFunc(rest, before[4:], sameEvent) {
			t.Fatalf("events after %d, after a restart: %s, %v; want %s", before[3].Seq, showEvents(rest), err, showEvents(before[4:]))
		}
		_, more, err := h.s.Events(h.ctx, lastSeq(before), 100)
		if err != nil {
			t.Fatal(err)
		}
		h.wait("late", 11)
		select {
		case <-more:
		case <-time.After(10 * time.Second):
			t.Fatal("a commit after a restart did not wake a consumer")
		}
	}},

	{"ConcurrentThenRestart", func(t *testing.T, f Factory) {
		const users, workers, ops = 60, 16, 25
		h := start(t, f)
		h.init(10, false)
		s := &stormer{h: h, users: users, ids: &idSet{}}
		together(workers+1, func(w int) {
			if w == workers {
				s.sweep(7, 20) // the clock runs: holds expire and the line moves
				return
			}
			rng := rand.New(rand.NewPCG(7, uint64(w)))
			for range ops {
				s.op(t, rng)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		h.advance(ttl)
		if h.expire() == 0 { // the storm's holds run out; the line moves
			t.Fatal("no hold of the storm expired: the restart would not replay an expiry")
		}
		audit(t, h, users, s.ids.all())
		names := make([]string, users)
		for i := range names {
			names[i] = userName(i)
		}
		before := h.snapshot(names, s.ids.all())
		h.reopen(f, ttl)
		if d := before.diff(h.snapshot(names, s.ids.all())); d != "" {
			t.Fatalf("after a restart: %s", d)
		}
		audit(t, h, users, s.ids.all())
	}},

	{"SigningKeysSurviveARestart", signingKeysSurviveARestart},
	{"AClaimIsReplayedAfterARestart", claimReplayedAfterARestart},
}
