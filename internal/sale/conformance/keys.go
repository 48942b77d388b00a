package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// keyTests: changes retried with an idempotency key are made once and
// answered with their first answer, whatever happened since.
var keyTests = []test{
	{"ReplayIsTheFirstAnswer", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		first, a := h.reserveKeyed("alice", "k1")
		if first.Reservation == nil || a.Replayed {
			t.Fatalf("first keyed reserve: %+v, replayed %v; want a hold, not replayed", first, a.Replayed)
		}
		h.freshHold(*first.Reservation, "alice")
		h.confirm(first.Reservation.ID)
		h.advance(time.Minute)
		// The retry gets the hold as it was answered (held, not the
		// confirmed purchase it is now), and nothing changes.
		again, a := h.reserveKeyed("alice", "k1")
		if !a.Replayed || !reflect.DeepEqual(again, first) {
			t.Fatalf("retry: %+v (replayed %v), want the first answer %+v, replayed", again, a.Replayed, first)
		}
		h.wantStatus(1, 0, 0, 1, 0)
	}},

	{"PlaceInLineAndConflictsAreKept", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		// bob joins the line at 1; his retry after carol joined behind
		// him and he moved nowhere is still "added", not "already waiting".
		bob, _ := h.reserveKeyed("bob", "b")
		h.wait("carol", 2)
		again, a := h.reserveKeyed("bob", "b")
		if !a.Replayed || again != bob || bob.Position != 1 || bob.AlreadyWaiting {
			t.Fatalf("bob: first %+v, retry %+v (replayed %v)", bob, again, a.Replayed)
		}
		// A conflict is an answer too: alice's second reserve is refused,
		// and so is its retry, with the hold as it was then.
		_, err := h.s.Reserve(h.ctx, "alice", &sale.Attempt{Key: "a2"})
		h.wantErr("second reserve", err, sale.ErrAlreadyReserved)
		h.cancel(r.ID) // bob is promoted
		a2 := &sale.Attempt{Key: "a2"}
		_, err2 := h.s.Reserve(h.ctx, "alice", a2)
		var c1, c2 *sale.ConflictError
		if !a2.Replayed || !errors.As(err, &c1) || !errors.As(err2, &c2) || !sameReservation(c1.Reservation, c2.Reservation) || c2.Reservation.Status != sale.Held {
			t.Fatalf("retry of a conflict: %v (replayed %v), want the first answer %v", err2, a2.Replayed, err)
		}
		// A 404 is kept too: the retry does not find a hold made since.
		_, err = h.s.Confirm(h.ctx, "no-such-hold", &sale.Attempt{Key: "c"})
		h.wantErr("confirm unknown", err, sale.ErrReservationNotFound)
		a3 := &sale.Attempt{Key: "c"}
		_, err = h.s.Confirm(h.ctx, "no-such-hold", a3)
		h.wantErr("confirm unknown, retried", err, sale.ErrReservationNotFound)
		if !a3.Replayed {
			t.Fatal("the retry of a 404 was not a replay")
		}
		h.wantHolding("bob")
	}},

	{"SameKeyAnotherCall", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		r := h.hold("alice")
		if _, err := h.s.Confirm(h.ctx, r.ID, &sale.Attempt{Key: "k"}); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		a := &sale.Attempt{Key: "k"}
		_, err := h.s.Cancel(h.ctx, r.ID, a)
		h.wantErr("cancel with confirm's key", err, sale.ErrKeyMismatch)
		if a.Replayed {
			t.Fatal("a mismatch was reported as a replay")
		}
		h.wantReservationStatus(r.ID, sale.Confirmed)

		if _, err := h.s.Initialize(h.ctx, 5, false, &sale.Attempt{Key: "init"}); err != nil {
			t.Fatalf("initialize: %v", err)
		}
		_, err = h.s.Initialize(h.ctx, 7, false, &sale.Attempt{Key: "init"})
		h.wantErr("initialize with another total", err, sale.ErrKeyMismatch)
		h.wantStatus(5, 4, 0, 1, 0)
	}},

	{"KeysAreTheCallers", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		a, _ := h.reserveKeyed("alice", "same")
		b, att := h.reserveKeyed("bob", "same")
		if att.Replayed || a.Reservation == nil || b.Reservation == nil || a.Reservation.ID == b.Reservation.ID {
			t.Fatalf("alice and bob with one key: %+v and %+v (replayed %v), want two holds", a, b, att.Replayed)
		}
		// One key on two reservations: two callers, two confirmations.
		for _, r := range []*sale.Reservation{a.Reservation, b.Reservation} {
			att := &sale.Attempt{Key: "same"}
			if got, err := h.s.Confirm(h.ctx, r.ID, att); err != nil || att.Replayed || got.Status != sale.Confirmed {
				t.Fatalf("confirm %s with the shared key: %+v, %v (replayed %v)", r.ID, got, err, att.Replayed)
			}
		}
		h.wantStatus(3, 1, 0, 2, 0)
	}},

	{"KeysExpire", func(t *testing.T, f Factory) {
		const keyTTL = time.Hour
		h := startWith(t, f, sale.Config{KeyTTL: keyTTL})
		h.init(1, false)
		first, _ := h.reserveKeyed("alice", "k")
		h.confirm(first.Reservation.ID) // so that it outlives the hold TTL
		h.advance(keyTTL - sale.Precision)
		if _, a := h.reserveKeyed("alice", "k"); !a.Replayed {
			t.Fatal("the key was forgotten before its TTL")
		}
		h.advance(sale.Precision)
		// Forgotten: the retry runs, and alice, who owns a unit, is told so.
		_, err := h.s.Reserve(h.ctx, "alice", &sale.Attempt{Key: "k"})
		h.wantErr("reserve after the key expired", err, sale.ErrAlreadyReserved)
		var c *sale.ConflictError
		if errors.As(err, &c) && c.Reservation.ID != first.Reservation.ID {
			t.Fatalf("conflict names %s, want alice's hold %s", c.Reservation.ID, first.Reservation.ID)
		}
	}},

	{"OldestKeysGoFirst", func(t *testing.T, f Factory) {
		h := startWith(t, f, sale.Config{MaxKeys: 2})
		h.init(5, false)
		for _, u := range []string{"u1", "u2", "u3"} {
			h.reserveKeyed(u, "k")
			h.advance(time.Second)
		}
		_, err := h.s.Reserve(h.ctx, "u1", &sale.Attempt{Key: "k"})
		h.wantErr("the oldest key, forgotten: the retry runs", err, sale.ErrAlreadyReserved)
		if _, a := h.reserveKeyed("u3", "k"); !a.Replayed {
			t.Fatal("u3's key was forgotten, though among the newest two")
		}
	}},

	{"KeysOutliveAReset", func(t *testing.T, f Factory) {
		// An admin's "start a new sale", retried after a timeout, must not
		// start another one and drop what the first one sold.
		h := start(t, f)
		h.init(1, false)
		a := &sale.Attempt{Key: "new-sale"}
		st, err := h.s.Initialize(h.ctx, 2, true, a)
		if err != nil || a.Replayed {
			t.Fatalf("reset: %+v, %v (replayed %v)", st, err, a.Replayed)
		}
		h.hold("alice")
		a = &sale.Attempt{Key: "new-sale"}
		again, err := h.s.Initialize(h.ctx, 2, true, a)
		if err != nil || !a.Replayed || again != st {
			t.Fatalf("retried reset: %+v, %v (replayed %v), want the first answer %+v", again, err, a.Replayed, st)
		}
		h.wantStatus(2, 1, 1, 0, 0)
	}},

	{"NoKeyOrTooLong", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := &sale.Attempt{}
		if _, err := h.s.Reserve(h.ctx, "alice", a); err != nil || a.Replayed {
			t.Fatalf("reserve with an empty key: %v (replayed %v)", err, a.Replayed)
		}
		_, err := h.s.Reserve(h.ctx, "alice", &sale.Attempt{})
		h.wantErr("again with an empty key", err, sale.ErrAlreadyReserved)
		_, err = h.s.Reserve(h.ctx, "bob", &sale.Attempt{Key: strings.Repeat("k", sale.MaxKeyLength+1)})
		h.wantErr("a key over MaxKeyLength", err, sale.ErrInvalid)
		h.wantNone("bob")
	}},

	{"OneKeyManyAtOnce", func(t *testing.T, f Factory) {
		// Many retries of one attempt at once: the change is made once,
		// and every answer is that change's, replayed, or "in flight".
		h := start(t, f)
		h.init(3, false)
		const n = 32
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ran     int
			ids     = map[string]bool{}
			unknown []string
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				a := &sale.Attempt{Key: "k"}
				res, err := h.s.Reserve(h.ctx, "alice", a)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, sale.ErrKeyInFlight):
				case err != nil || res.Reservation == nil:
					unknown = append(unknown, fmt.Sprintf("%+v, %v", res, err))
				default:
					ids[res.Reservation.ID] = true
					if !a.Replayed {
						ran++
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if ran != 1 || len(ids) != 1 || len(unknown) > 0 {
			t.Fatalf("%d calls made the change, %d holds answered (want 1 and 1); other answers: %v", ran, len(ids), unknown)
		}
		h.wantStatus(3, 2, 1, 0, 0)
	}},
}

// reserveKeyed reserves for user with key, expecting no error.
func (h *harness) reserveKeyed(user, key string) (sale.ReserveResult, *sale.Attempt) {
	h.t.Helper()
	a := &sale.Attempt{Key: key}
	res, err := h.s.Reserve(h.ctx, user, a)
	if err != nil {
		h.t.Fatalf("reserve %s with key %s: %v", user, key, err)
	}
	h.status()
	return res, a
}
