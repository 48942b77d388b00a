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
		first, replayed := h.reserveKeyed("alice", "k1")
		if first.Reservation == nil || replayed {
			t.Fatalf("first keyed reserve: %+v, replayed %v; want a hold, not replayed", first, replayed)
		}
		h.freshHold(*first.Reservation, "alice")
		h.confirm(first.Reservation.ID)
		h.advance(time.Minute)
		// The retry gets the hold as it was answered (held, not the
		// confirmed purchase it is now), and nothing changes.
		again, replayed := h.reserveKeyed("alice", "k1")
		if !replayed || !reflect.DeepEqual(again, first) {
			t.Fatalf("retry: %+v (replayed %v), want the first answer %+v, replayed", again, replayed, first)
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
		again, replayed := h.reserveKeyed("bob", "b")
		if !replayed || again != bob || bob.Position != 1 || bob.AlreadyWaiting {
			t.Fatalf("bob: first %+v, retry %+v (replayed %v)", bob, again, replayed)
		}
		// A conflict is an answer too: alice's second reserve is refused,
		// and so is its retry, with the hold as it was then.
		_, err := h.do(reserveCall("alice"), "a2")
		h.wantErr("second reserve", err, sale.ErrAlreadyReserved)
		h.cancel(r.ID) // bob is promoted
		a2, err2 := h.do(reserveCall("alice"), "a2")
		var c1, c2 *sale.ConflictError
		if !a2.Replayed || !errors.As(err, &c1) || !errors.As(err2, &c2) || !sameReservation(c1.Reservation, c2.Reservation) || c2.Reservation.Status != sale.Held {
			t.Fatalf("retry of a conflict: %v (replayed %v), want the first answer %v", err2, a2.Replayed, err)
		}
		// A 404 is kept too: the retry does not find a hold made since.
		_, err = h.do(confirmCall("no-such-hold"), "c")
		h.wantErr("confirm unknown", err, sale.ErrReservationNotFound)
		a3, err := h.do(confirmCall("no-such-hold"), "c")
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
		if _, err := h.do(confirmCall(r.ID), "k"); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		a, err := h.do(sale.Call{Op: sale.OpCancel, ReservationID: r.ID}, "k")
		h.wantErr("cancel with confirm's key", err, sale.ErrKeyMismatch)
		if a.Replayed {
			t.Fatal("a mismatch was reported as a replay")
		}
		h.wantReservationStatus(r.ID, sale.Confirmed)

		if _, err := h.do(initializeCall(5, false), "init"); err != nil {
			t.Fatalf("initialize: %v", err)
		}
		_, err = h.do(initializeCall(7, false), "init")
		h.wantErr("initialize with another total", err, sale.ErrKeyMismatch)
		h.wantStatus(5, 4, 0, 1, 0)
	}},

	{"KeysAreTheCallers", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		a, _ := h.reserveKeyed("alice", "same")
		b, replayed := h.reserveKeyed("bob", "same")
		if replayed || a.Reservation == nil || b.Reservation == nil || a.Reservation.ID == b.Reservation.ID {
			t.Fatalf("alice and bob with one key: %+v and %+v (replayed %v), want two holds", a, b, replayed)
		}
		// One key on two reservations: two callers, two confirmations.
		for _, r := range []*sale.Reservation{a.Reservation, b.Reservation} {
			if got, err := h.do(confirmCall(r.ID), "same"); err != nil || got.Replayed || got.Reservation.Status != sale.Confirmed {
				t.Fatalf("confirm %s with the shared key: %+v, %v", r.ID, got, err)
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
		if _, replayed := h.reserveKeyed("alice", "k"); !replayed {
			t.Fatal("the key was forgotten before its TTL")
		}
		h.advance(sale.Precision)
		// Forgotten: the retry runs, and alice, who owns a unit, is told so.
		_, err := h.do(reserveCall("alice"), "k")
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
		_, err := h.do(reserveCall("u1"), "k")
		h.wantErr("the oldest key, forgotten: the retry runs", err, sale.ErrAlreadyReserved)
		if _, replayed := h.reserveKeyed("u3", "k"); !replayed {
			t.Fatal("u3's key was forgotten, though among the newest two")
		}
	}},

	{"KeysOutliveAReset", func(t *testing.T, f Factory) {
		// An admin's "start a new sale", retried after a timeout, must not
		// start another one and drop what the first one sold.
		h := start(t, f)
		h.init(1, false)
		first, err := h.do(initializeCall(2, true), "new-sale")
		if err != nil || first.Replayed {
			t.Fatalf("reset: %+v, %v", first, err)
		}
		h.hold("alice")
		again, err := h.do(initializeCall(2, true), "new-sale")
		if err != nil || !again.Replayed || again.Status != first.Status {
			t.Fatalf("retried reset: %+v, %v, want the first answer %+v, replayed", again, err, first)
		}
		h.wantStatus(2, 1, 1, 0, 0)
	}},

	{"NoKeyOrTooLong", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		if a, err := h.do(reserveCall("alice"), ""); err != nil || a.Replayed {
			t.Fatalf("reserve with an empty key: %+v, %v", a, err)
		}
		_, err := h.do(reserveCall("alice"), "")
		h.wantErr("again with an empty key", err, sale.ErrAlreadyReserved)
		_, err = h.do(reserveCall("bob"), strings.Repeat("k", sale.MaxKeyLength+1))
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
				a, err := h.do(reserveCall("alice"), "k")
				res := a.Reserve
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

// reserveKeyed reserves for user with key, expecting no error, and says
// whether the answer was a replay.
func (h *harness) reserveKeyed(user, key string) (sale.ReserveResult, bool) {
	h.t.Helper()
	a, err := h.do(reserveCall(user), key)
	if err != nil {
		h.t.Fatalf("reserve %s with key %s: %v", user, key, err)
	}
	h.status()
	return a.Reserve, a.Replayed
}

// do makes the change c with key.
func (h *harness) do(c sale.Call, key string) (sale.Answer, error) {
	return h.s.Do(h.ctx, c, key)
}

func initializeCall(total int64, reset bool) sale.Call {
	return sale.Call{Op: sale.OpInitialize, Total: total, Reset: reset}
}

func reserveCall(user string) sale.Call { return sale.Call{Op: sale.OpReserve, UserID: user} }

func confirmCall(id string) sale.Call { return sale.Call{Op: sale.OpConfirm, ReservationID: id} }
