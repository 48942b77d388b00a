package conformance

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// expiryTests: a hold is expired from ExpiresAt on, whichever call sees it
// first, and never before.
var expiryTests = []test{
	{"HeldUntilJustBeforeExpiresAt", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		h.clock.Set(r.ExpiresAt.Add(-time.Nanosecond))
		if n := h.expire(); n != 0 {
			t.Fatalf("expire 1ns before expires_at: %d expired", n)
		}
		h.wantReservationStatus(r.ID, sale.Held)
		h.wantHolding("alice")
		h.wantStatus(1, 0, 1, 0, 0)
		h.confirm(r.ID)
		h.wantStatus(1, 0, 0, 1, 0)
	}},

	{"ExpiredAtExpiresAt", func(t *testing.T, f Factory) {
		// Whatever call comes first after ExpiresAt applies the expiry; the
		// sweeper's Expire is only one of them.
		firsts := []struct {
			name string
			call func(h *harness, id string)
		}{
			{"Confirm", func(h *harness, id string) {
				_, err := sale.Confirm(h.ctx, h.s, id)
				h.wantConflict("confirm at expires_at", err, sale.ErrHoldExpired, id, sale.Expired)
			}},
			{"Cancel", func(h *harness, id string) {
				_, err := sale.Cancel(h.ctx, h.s, id)
				h.wantConflict("cancel at expires_at", err, sale.ErrHoldExpired, id, sale.Expired)
			}},
			{"Reservation", func(h *harness, id string) { h.wantReservationStatus(id, sale.Expired) }},
			{"Status", func(h *harness, _ string) { h.wantStatus(1, 1, 0, 0, 0) }},
			{"User", func(h *harness, _ string) { h.wantNone("alice") }},
			{"Leave", func(h *harness, _ string) {
				h.wantErr("leave", h.s.Leave(h.ctx, "alice"), sale.ErrNotWaiting)
			}},
			{"ReserveOther", func(h *harness, _ string) { h.hold("bob") }},
			{"Initialize", func(h *harness, _ string) {
				if st := h.init(1, false); st.Held != 0 {
					h.t.Fatalf("initialize counts the expired hold: %+v", st)
				}
			}},
			{"Expire", func(h *harness, _ string) {
				if n := h.expire(); n != 1 {
					h.t.Fatalf("expire at expires_at: %d expired, want 1", n)
				}
			}},
		}
		for _, first := range firsts {
			t.Run(first.name, func(t *testing.T) {
				h := start(t, f)
				h.init(1, false)
				r := h.hold("alice")
				h.clock.Set(r.ExpiresAt)
				first.call(h, r.ID)

				got := h.wantReservationStatus(r.ID, sale.Expired)
				if !sameReservation(got, sale.Reservation{ID: r.ID, UserID: "alice", Status: sale.Expired, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}) {
					t.Fatalf("expiry changed the hold: before %+v, after %+v", r, got)
				}
				if n := h.expire(); n != 0 {
					t.Fatalf("expire after the expiry was applied: %d more", n)
				}
				if last := h.wantNone("alice"); last == nil || last.ID != r.ID || last.Status != sale.Expired {
					t.Fatalf("alice's last hold: got %+v, want %s expired", last, r.ID)
				}
				_, err := sale.Confirm(h.ctx, h.s, r.ID)
				h.wantConflict("confirm expired", err, sale.ErrHoldExpired, r.ID, sale.Expired)
				_, err = sale.Cancel(h.ctx, h.s, r.ID)
				h.wantConflict("cancel expired", err, sale.ErrHoldExpired, r.ID, sale.Expired)
				// The unit came back exactly once, whoever took it since.
				st := h.status()
				if st.Held+st.Available != 1 {
					t.Fatalf("after expiry: %+v", st)
				}
			})
		}
	}},

	{"ExpireCountsDueHolds", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(3, false)
		a := h.hold("alice")
		h.advance(time.Minute)
		h.hold("bob")
		h.advance(time.Minute)
		c := h.hold("carol")
		h.clock.Set(a.ExpiresAt.Add(time.Minute)) // alice's and bob's are due
		if n := h.expire(); n != 2 {
			t.Fatalf("expire: %d, want 2", n)
		}
		h.wantStatus(3, 2, 1, 0, 0)
		h.clock.Set(c.ExpiresAt)
		if n := h.expire(); n != 1 {
			t.Fatalf("expire: %d, want 1", n)
		}
		if n := h.expire(); n != 0 {
			t.Fatalf("expire again: %d, want 0", n)
		}
		h.wantStatus(3, 3, 0, 0, 0)
	}},

	{"ExpiryIsLazy", func(t *testing.T, f Factory) {
		// Nobody calls Expire: reads alone must never count an expired hold.
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		h.advance(time.Minute)
		b := h.hold("bob")
		h.clock.Set(a.ExpiresAt)
		h.wantStatus(2, 1, 1, 0, 0)
		h.wantHolding("bob")
		h.clock.Set(b.ExpiresAt)
		h.wantReservationStatus(b.ID, sale.Expired)
		h.wantStatus(2, 2, 0, 0, 0)
	}},

	{"ReserveAgainAfterExpiry", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		first := h.hold("alice")
		h.clock.Set(first.ExpiresAt)
		second := h.hold("alice")
		if second.ID == first.ID {
			t.Fatalf("the new hold reuses id %s", first.ID)
		}
		h.wantReservationStatus(first.ID, sale.Expired)
		if got := h.wantHolding("alice"); got.ID != second.ID {
			t.Fatalf("alice shows %s, want the new hold %s", got.ID, second.ID)
		}
		h.wantStatus(1, 0, 1, 0, 0)
	}},
}
