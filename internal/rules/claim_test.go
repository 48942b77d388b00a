package rules

import (
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func newSale(t *testing.T, units int64) *Sale {
	t.Helper()
	s, err := New(sale.Config{HoldTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Initialize(t0, units, false); err != nil {
		t.Fatal(err)
	}
	s.Take()
	return s
}

// A claim is made for whoever comes first with a new name, and refused for
// every name the sale knows, whatever that user's state now is: holding,
// waiting, or none after their hold expired or they left the line.
func TestAClaimIsForNewUsersOnly(t *testing.T) {
	s := newSale(t, 1)
	if a := s.Do(t0, sale.Call{Op: sale.OpReserve, UserID: "alice", Claim: true}); a.Err != nil || a.Reserve.Reservation == nil {
		t.Fatalf("alice's claim: %+v", a)
	}
	if a := s.Do(t0, sale.Call{Op: sale.OpReserve, UserID: "bob", Claim: true}); a.Err != nil || a.Reserve.Position != 1 {
		t.Fatalf("bob's claim: %+v", a)
	}
	s.Take()
	for _, tc := range []struct {
		name string
		at   time.Time
		prep func()
	}{
		{"holding", t0, func() {}},
		{"waiting", t0, func() {}},
		{"after leaving", t0, func() {
			if err := s.Leave(t0, "bob"); err != nil {
				t.Fatal(err)
			}
		}},
		{"after the hold expired", t0.Add(2 * time.Minute), func() {}},
	} {
		tc.prep()
		before := s.Status()
		s.Take()
		for _, user := range []string{"alice", "bob"} {
			a := s.Do(tc.at, sale.Call{Op: sale.OpReserve, UserID: user, Claim: true})
			if !errors.Is(a.Err, sale.ErrTokenRequired) {
				t.Errorf("%s: %s's name claimed again: %+v", tc.name, user, a)
			}
		}
		if ev := s.Take(); tc.name != "after the hold expired" && len(ev) != 0 {
			t.Errorf("%s: refused claims emitted %v", tc.name, ev)
		}
		if tc.name != "after the hold expired" && s.Status() != before {
			t.Errorf("%s: refused claims changed the sale: %+v, then %+v", tc.name, before, s.Status())
		}
	}
	// A proven caller (no claim) reserves for a known user as before.
	if a := s.Do(t0.Add(2*time.Minute), sale.Call{Op: sale.OpReserve, UserID: "alice"}); a.Err != nil {
		t.Fatalf("alice, proven, after her hold expired: %v", a.Err)
	}
	// A reset starts a sale that knows nobody.
	if _, err := s.Initialize(t0.Add(3*time.Minute), 1, true); err != nil {
		t.Fatal(err)
	}
	if a := s.Do(t0.Add(3*time.Minute), sale.Call{Op: sale.OpReserve, UserID: "alice", Claim: true}); a.Err != nil {
		t.Fatalf("a claim in a new sale: %v", a.Err)
	}
}

// A confirm or cancel made for a user finds only that user's reservation:
// another's is not found, exactly as an id that does not exist, and is left
// as it was.
func TestAReservationIsFoundOnlyForItsUser(t *testing.T) {
	s := newSale(t, 2)
	alice := s.Do(t0, sale.Call{Op: sale.OpReserve, UserID: "alice"}).Reserve.Reservation
	s.Take()
	for _, op := range []sale.Op{sale.OpConfirm, sale.OpCancel} {
		a := s.Do(t0, sale.Call{Op: op, ReservationID: alice.ID, UserID: "mallory"})
		missing := s.Do(t0, sale.Call{Op: op, ReservationID: "AAAAAAAAAAAAAAAAAAAAAA", UserID: "mallory"})
		if !errors.Is(a.Err, sale.ErrReservationNotFound) || !errors.Is(missing.Err, sale.ErrReservationNotFound) {
			t.Fatalf("%s of alice's hold for mallory: %v (and of no hold: %v)", op, a.Err, missing.Err)
		}
		if ev := s.Take(); len(ev) != 0 {
			t.Fatalf("%s for mallory emitted %v", op, ev)
		}
	}
	if r, _ := s.Reservation(alice.ID); r.Status != sale.Held {
		t.Fatalf("alice's hold is %s after mallory's attempts", r.Status)
	}
	if a := s.Do(t0, sale.Call{Op: sale.OpConfirm, ReservationID: alice.ID, UserID: "alice"}); a.Err != nil || a.Reservation.Status != sale.Confirmed {
		t.Fatalf("alice confirms her own: %+v", a)
	}
	// The operator's call names nobody and finds every reservation.
	if a := s.Do(t0, sale.Call{Op: sale.OpConfirm, ReservationID: alice.ID}); a.Err != nil {
		t.Fatalf("the operator confirms alice's: %v", a.Err)
	}
}

// A user's key for a reservation is in that user's scope: mallory sending
// alice's key for alice's reservation shares nothing with it, not even the
// mismatch that would tell her the key was used.
func TestAKeyForAReservationIsItsUsers(t *testing.T) {
	s := newSale(t, 1)
	alice := s.Do(t0, sale.Call{Op: sale.OpReserve, UserID: "alice"}).Reserve.Reservation
	confirm := sale.Call{Op: sale.OpConfirm, ReservationID: alice.ID, UserID: "alice"}
	first := s.Keyed(t0, KeyOf(confirm, "k"), confirm)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	cancel := sale.Call{Op: sale.OpCancel, ReservationID: alice.ID, UserID: "mallory"}
	if a := s.Keyed(t0, KeyOf(cancel, "k"), cancel); !errors.Is(a.Err, sale.ErrReservationNotFound) {
		t.Fatalf("mallory's cancel with alice's key: %v, want not found", a.Err)
	}
	again := s.Keyed(t0.Add(time.Second), KeyOf(confirm, "k"), confirm)
	if !again.Replayed || !again.At.Equal(first.At) {
		t.Fatalf("alice's retry: %+v, want the first answer (at %v) replayed", again, first.At)
	}
}
