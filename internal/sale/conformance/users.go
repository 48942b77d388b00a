package conformance

import (
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// userTests: what User tells a user about where they stand.
var userTests = []test{
	{"Unknown", func(t *testing.T, f Factory) {
		h := start(t, f)
		if r := h.wantNone("nobody"); r != nil {
			t.Fatalf("unknown user before the sale has %+v", *r)
		}
		h.init(1, false)
		if r := h.wantNone("nobody"); r != nil {
			t.Fatalf("unknown user has %+v", *r)
		}
		// Asking about a user is not joining: the unit is still for sale.
		h.wantStatus(1, 1, 0, 0, 0)
	}},

	{"EveryState", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		held := h.hold("holder")
		bought := h.confirm(h.hold("buyer").ID)
		h.advance(1)
		expired := h.hold("expirer")
		h.wait("waiter", 1)
		if u := h.user("buyer"); u.State != sale.Bought || u.Position != 0 || u.Reservation == nil || !sameReservation(*u.Reservation, bought) {
			t.Fatalf("buyer: %s, want confirmed with %s", show(u), bought.ID)
		}
		if got := h.wantHolding("holder"); !sameReservation(got, held) {
			t.Fatalf("holder shows %+v, want %+v", got, held)
		}
		if u := h.user("waiter"); u.Reservation != nil {
			t.Fatalf("waiter: %s, want no reservation", show(u))
		}

		// The expired holder is none, and sees the hold that expired.
		h.clock.Set(expired.ExpiresAt)
		last := h.wantNone("expirer")
		if last == nil || last.ID != expired.ID || last.Status != sale.Expired {
			t.Fatalf("expirer's last hold: %+v, want %s expired", last, expired.ID)
		}
		// The holder's hold, made 1ns earlier, expired too; the waiter got one.
		if last := h.wantNone("holder"); last == nil || last.ID != held.ID || last.Status != sale.Expired {
			t.Fatalf("holder's last hold: %+v, want %s expired", last, held.ID)
		}
		h.wantHolding("waiter")
		h.wantStatus(3, 1, 1, 1, 0)
	}},

	{"WaitingShowsNoOldHold", func(t *testing.T, f Factory) {
		// sale.UserState: Reservation is the current hold or purchase, and
		// the last hold only when State is None. A user back in line after
		// an expiry has no current hold; showing the expired one next to a
		// waitlist position would tell them two stories.
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("bob", 1)
		h.clock.Set(a.ExpiresAt)
		h.wantHolding("bob")
		h.wait("alice", 1)
		if u := h.user("alice"); u.State != sale.Waiting || u.Position != 1 || u.Reservation != nil {
			t.Fatalf("alice back in line: %s, want waiting at 1 with no reservation", show(u))
		}
		// Leaving the line makes her None again, and None shows the last hold.
		h.leave("alice")
		if last := h.wantNone("alice"); last == nil || last.ID != a.ID || last.Status != sale.Expired {
			t.Fatalf("alice after leaving: last hold %+v, want %s expired", last, a.ID)
		}
	}},
}
