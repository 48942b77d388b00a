package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// lifecycleTests: a hold from reserve to confirm or cancel, and the answers
// to requests that come in the wrong order.
var lifecycleTests = []test{
	{"BeforeInitialize", func(t *testing.T, f Factory) {
		h := start(t, f)
		_, err := sale.Reserve(h.ctx, h.s, "alice")
		h.wantErr("reserve before initialize", err, sale.ErrNotInitialized)
		if st := h.status(); st != (sale.Status{}) {
			t.Fatalf("status before initialize: got %+v, want all zero", st)
		}
		if r := h.wantNone("alice"); r != nil {
			t.Fatalf("alice has reservation %+v before the sale", *r)
		}
		h.wantErr("leave before initialize", h.s.Leave(h.ctx, "alice"), sale.ErrNotWaiting)
		if n := h.expire(); n != 0 {
			t.Fatalf("expire before initialize: %d", n)
		}
		// A failed reserve leaves nothing behind: initializing now sells to
		// alice as to anyone.
		h.init(1, false)
		h.hold("alice")
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"InitializeThenReserve", func(t *testing.T, f Factory) {
		h := start(t, f)
		if st := h.init(3, false); st.Available != 3 || st.Held != 0 || st.Confirmed != 0 || st.Waiting != 0 {
			t.Fatalf("fresh sale: %+v", st)
		}
		h.advance(17) // the hold is stamped with the clock's time, whatever it is
		r := h.hold("alice")
		h.wantStatus(3, 2, 1, 0, 0)
		if got := h.reservation(r.ID); !sameReservation(got, r) {
			t.Fatalf("reserve gave %+v, reading it gives %+v", r, got)
		}
		if got := h.wantHolding("alice"); !sameReservation(got, r) {
			t.Fatalf("reserve gave %+v, alice shows %+v", r, got)
		}
		h.hold("bob")
		h.hold("carol")
		h.wantStatus(3, 0, 3, 0, 0)
	}},

	{"CancelledContext", func(t *testing.T, f Factory) {
		// A call whose context is already done changes nothing and says why.
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		ctx, cancel := context.WithCancel(h.ctx)
		cancel()
		calls := map[string]error{}
		_, calls["initialize"] = sale.Initialize(ctx, h.s, 5, true)
		_, calls["reserve"] = sale.Reserve(ctx, h.s, "bob")
		_, calls["confirm"] = sale.Confirm(ctx, h.s, r.ID)
		_, calls["cancel"] = sale.Cancel(ctx, h.s, r.ID)
		_, calls["reservation"] = h.s.Reservation(ctx, r.ID)
		_, calls["user"] = h.s.User(ctx, "alice")
		calls["leave"] = h.s.Leave(ctx, "alice")
		_, calls["status"] = h.s.Status(ctx)
		_, calls["expire"] = h.s.Expire(ctx)
		for op, err := range calls {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: %v", op, err)
			}
		}
		h.wantStatus(1, 0, 1, 0, 0)
		h.wantReservationStatus(r.ID, sale.Held)
		h.wantNone("bob")
	}},

	{"TimesToTheMicrosecond", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		h.clock.Set(t0.Add(1500*time.Nanosecond + 7)) // 1.500007 µs after t0
		r := h.hold("alice")
		want := t0.Add(time.Microsecond)
		if !r.CreatedAt.Equal(want) || !r.ExpiresAt.Equal(want.Add(ttl)) || r.CreatedAt.Location() != time.UTC {
			t.Fatalf("hold made at t0+1.500007µs: created %v, expires %v; want %v and %v, in UTC",
				r.CreatedAt, r.ExpiresAt, want, want.Add(ttl))
		}
		// Expired from the microsecond of expires_at on, not a nanosecond
		// later: a clock 999 ns short of the next microsecond still counts.
		h.clock.Set(r.ExpiresAt.Add(999 * time.Nanosecond))
		h.wantReservationStatus(r.ID, sale.Expired)
	}},

	{"ReservationIDsAreDistinct", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(200, false)
		seen := make(map[string]bool)
		for i := range 200 {
			r := h.hold(userName(i))
			if seen[r.ID] {
				t.Fatalf("reservation id %s given twice", r.ID)
			}
			seen[r.ID] = true
		}
	}},

	{"HolderOrBuyerReservesAgain", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(5, false)
		a := h.hold("alice")
		_, err := sale.Reserve(h.ctx, h.s, "alice")
		got := h.wantConflict("alice reserves again", err, sale.ErrAlreadyReserved, a.ID, sale.Held)
		if !sameReservation(got, a) {
			t.Fatalf("conflict carries %+v, want alice's hold %+v", got, a)
		}
		h.confirm(a.ID)
		_, err = sale.Reserve(h.ctx, h.s, "alice")
		h.wantConflict("alice reserves after buying", err, sale.ErrAlreadyReserved, a.ID, sale.Confirmed)
		h.wantStatus(5, 4, 0, 1, 0)
	}},

	{"Confirm", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		r := h.hold("alice")
		h.advance(ttl / 2)
		c := h.confirm(r.ID)
		if !c.CreatedAt.Equal(r.CreatedAt) || !c.ExpiresAt.Equal(r.ExpiresAt) || c.UserID != "alice" {
			t.Fatalf("confirm changed the hold: before %+v, after %+v", r, c)
		}
		h.wantStatus(2, 1, 0, 1, 0)
		u := h.user("alice")
		if u.State != sale.Bought || u.Reservation == nil || !sameReservation(*u.Reservation, c) {
			t.Fatalf("alice after confirm: %s", show(u))
		}
		// A confirmed purchase never expires.
		h.advance(10 * ttl)
		if n := h.expire(); n != 0 {
			t.Fatalf("expire after a confirm: %d expired", n)
		}
		h.wantReservationStatus(r.ID, sale.Confirmed)
		h.wantStatus(2, 1, 0, 1, 0)
	}},

	{"ConfirmIsIdempotent", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		first := h.confirm(r.ID)
		second := h.confirm(r.ID)
		if !sameReservation(first, second) {
			t.Fatalf("confirm twice: %+v then %+v", first, second)
		}
		h.wantStatus(1, 0, 0, 1, 0)
	}},

	{"CancelReturnsUnitToStock", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		r := h.hold("alice")
		c := h.cancel(r.ID)
		if !c.CreatedAt.Equal(r.CreatedAt) || !c.ExpiresAt.Equal(r.ExpiresAt) || c.UserID != "alice" {
			t.Fatalf("cancel changed the hold: before %+v, after %+v", r, c)
		}
		h.wantStatus(2, 2, 0, 0, 0)
		last := h.wantNone("alice")
		if last == nil || last.ID != r.ID || last.Status != sale.Cancelled {
			t.Fatalf("alice after cancel: last hold %+v, want %s cancelled", last, r.ID)
		}
		// A cancelled hold does not expire later and release a second unit.
		h.advance(ttl)
		if n := h.expire(); n != 0 {
			t.Fatalf("expire after a cancel: %d expired", n)
		}
		h.wantStatus(2, 2, 0, 0, 0)
	}},

	{"CancelIsIdempotent", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		h.wait("bob", 1)
		h.cancel(r.ID)
		h.wantHolding("bob")
		// The repeat must not release a second unit.
		h.cancel(r.ID)
		h.wantStatus(1, 0, 1, 0, 0)
		h.wantHolding("bob")
	}},

	{"CancelAfterConfirm", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		h.confirm(r.ID)
		_, err := sale.Cancel(h.ctx, h.s, r.ID)
		h.wantConflict("cancel after confirm", err, sale.ErrAlreadyConfirmed, r.ID, sale.Confirmed)
		h.wantStatus(1, 0, 0, 1, 0)
		h.wantReservationStatus(r.ID, sale.Confirmed)
	}},

	{"ConfirmAfterCancel", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		r := h.hold("alice")
		h.cancel(r.ID)
		_, err := sale.Confirm(h.ctx, h.s, r.ID)
		h.wantConflict("confirm after cancel", err, sale.ErrHoldCancelled, r.ID, sale.Cancelled)
		h.wantStatus(1, 1, 0, 0, 0)
		h.wantReservationStatus(r.ID, sale.Cancelled)
	}},

	{"UnknownReservation", func(t *testing.T, f Factory) {
		h := start(t, f)
		for _, initialized := range []bool{false, true} {
			if initialized {
				h.init(1, false)
				h.hold("alice")
			}
			for _, id := range []string{"no-such-reservation", "AAAAAAAAAAAAAAAAAAAAAA", ""} {
				_, err := h.s.Reservation(h.ctx, id)
				h.wantErr("read "+id, err, sale.ErrReservationNotFound)
				_, err = sale.Confirm(h.ctx, h.s, id)
				h.wantErr("confirm "+id, err, sale.ErrReservationNotFound)
				_, err = sale.Cancel(h.ctx, h.s, id)
				h.wantErr("cancel "+id, err, sale.ErrReservationNotFound)
			}
		}
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"ReserveAgainAfterCancel", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		first := h.hold("alice")
		h.cancel(first.ID)
		h.advance(1)
		second := h.hold("alice")
		if second.ID == first.ID {
			t.Fatalf("the new hold reuses id %s", first.ID)
		}
		if got := h.wantHolding("alice"); got.ID != second.ID {
			t.Fatalf("alice shows %s, want the new hold %s", got.ID, second.ID)
		}
		h.wantReservationStatus(first.ID, sale.Cancelled)
		h.wantStatus(2, 1, 1, 0, 0)
	}},
}
