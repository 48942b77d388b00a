package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// inventoryTests: Initialize raising, lowering and resetting a running sale.
var inventoryTests = []test{
	{"RaisePromotesWaiting", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		h.hold("alice")
		for i, u := range []string{"w1", "w2", "w3"} {
			h.wait(u, int64(i+1))
		}
		at := h.advance(3)
		if st := h.init(3, false); st.Available != 0 || st.Held != 3 || st.Waiting != 1 {
			t.Fatalf("raise to 3 with 3 waiting: %+v", st)
		}
		for _, u := range []string{"w1", "w2"} {
			r := h.wantHolding(u)
			if !r.CreatedAt.Equal(at) || !r.ExpiresAt.Equal(at.Add(ttl)) {
				t.Fatalf("%s promoted by initialize: %+v, want created %v", u, r, at)
			}
		}
		h.wantWaiting("w3", 1)
		h.init(10, false)
		h.wantHolding("w3")
		h.wantStatus(10, 6, 4, 0, 0)
	}},

	{"Lower", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(5, false)
		a := h.hold("alice")
		b := h.hold("bob")
		h.confirm(a.ID)
		h.init(2, false) // exactly held + confirmed
		h.wantStatus(2, 0, 1, 1, 0)
		h.wantReservationStatus(a.ID, sale.Confirmed)
		h.wantReservationStatus(b.ID, sale.Held)
		h.wait("carol", 1)
		// The sale goes on at its new size: bob's unit passes to carol.
		h.clock.Set(b.ExpiresAt)
		h.wantHolding("carol")
		h.wantStatus(2, 0, 1, 1, 0)
	}},

	{"LowerBelowTakenFails", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		a := h.hold("alice")
		b := h.hold("bob")
		h.confirm(a.ID)
		h.init(2, false)
		h.wait("carol", 1)
		before := h.status()
		for _, total := range []int64{1, 0} {
			_, err := sale.Initialize(h.ctx, h.s, total, false)
			var ie *sale.InventoryError
			if !errors.As(err, &ie) || !errors.Is(err, sale.ErrInventoryConflict) {
				t.Fatalf("initialize %d below held+confirmed: got %v, want *sale.InventoryError", total, err)
			}
			if ie.Total != total || ie.Taken != 2 {
				t.Fatalf("initialize %d: error says total %d, taken %d; want %d, 2", total, ie.Total, ie.Taken, total)
			}
			if got := h.status(); got != before {
				t.Fatalf("a failed initialize changed the sale: %+v, then %+v", before, got)
			}
		}
		h.wantReservationStatus(a.ID, sale.Confirmed)
		h.wantReservationStatus(b.ID, sale.Held)
		h.wantWaiting("carol", 1)
	}},

	{"LowerAfterExpiry", func(t *testing.T, f Factory) {
		// Initialize applies due expiries before it judges the new total.
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		h.hold("bob")
		h.clock.Set(a.ExpiresAt)
		h.init(0, false)
		h.wantStatus(0, 0, 0, 0, 0)
	}},

	{"SameTotalChangesNothing", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		h.hold("bob")
		h.wait("carol", 1)
		h.init(2, false)
		h.wantStatus(2, 0, 2, 0, 1)
		h.wantReservationStatus(a.ID, sale.Held)
		h.wantWaiting("carol", 1)
	}},

	{"Reset", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		b := h.hold("bob")
		h.confirm(b.ID)
		h.wait("carol", 1)
		h.wait("dave", 2)

		h.init(5, true)
		h.wantStatus(5, 5, 0, 0, 0)
		for _, id := range []string{a.ID, b.ID} {
			_, err := h.s.Reservation(h.ctx, id)
			h.wantErr("read an old sale's reservation", err, sale.ErrReservationNotFound)
			_, err = sale.Confirm(h.ctx, h.s, id)
			h.wantErr("confirm an old sale's reservation", err, sale.ErrReservationNotFound)
			_, err = sale.Cancel(h.ctx, h.s, id)
			h.wantErr("cancel an old sale's reservation", err, sale.ErrReservationNotFound)
		}
		for _, u := range []string{"alice", "bob", "carol", "dave"} {
			if r := h.wantNone(u); r != nil {
				t.Fatalf("%s keeps %+v from the old sale", u, *r)
			}
		}
		h.wantErr("leave an old sale's line", h.s.Leave(h.ctx, "carol"), sale.ErrNotWaiting)
		h.wantStatus(5, 5, 0, 0, 0)

		// Everyone starts afresh; the old holds' expiry releases nothing.
		h.advance(ttl / 2)
		h.hold("dave")
		h.hold("bob")
		h.clock.Set(a.ExpiresAt)
		if n := h.expire(); n != 0 {
			t.Fatalf("the old sale's holds expired into the new one: %d", n)
		}
		h.wantStatus(5, 3, 2, 0, 0)
	}},

	{"ResetBelowOldTaken", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		h.confirm(h.hold("alice").ID)
		h.hold("bob")
		h.init(0, true)
		h.wantStatus(0, 0, 0, 0, 0)
		h.wait("alice", 1)
	}},

	{"ResetFirst", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, true)
		h.hold("alice")
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"Bounds", func(t *testing.T, f Factory) {
		h := start(t, f)
		for _, reset := range []bool{false, true} {
			for _, total := range []int64{-1, -1 << 62, sale.MaxInventory + 1, 1 << 62} {
				_, err := sale.Initialize(h.ctx, h.s, total, reset)
				h.wantErr(fmt.Sprintf("initialize %d reset=%v", total, reset), err, sale.ErrInvalid)
			}
		}
		if st := h.status(); st.Initialized {
			t.Fatalf("an invalid initialize started the sale: %+v", st)
		}
		h.init(sale.MaxInventory, false)
		h.hold("alice")
		_, err := sale.Initialize(h.ctx, h.s, -1, false)
		h.wantErr("initialize -1", err, sale.ErrInvalid)
		h.wantStatus(sale.MaxInventory, sale.MaxInventory-1, 1, 0, 0)
		h.init(0, true)
	}},
}
