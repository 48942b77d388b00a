package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

func theClose(t *testing.T, f Factory) {
	h := start(t, f)
	closes := t0.Add(4 * time.Minute) // before alice's hold expires
	st := h.initWindow(2, false, sale.Window{ClosesAt: closes})
	if st.Phase != sale.PhaseOpen || !st.ClosesAt.Equal(closes) || st.DrawCommitment != "" {
		t.Fatalf("a sale with a close and no opening: %+v", st)
	}
	a := h.hold("alice")
	h.advance(time.Minute)
	b := h.hold("bob")
	h.wait("carol", 1)
	h.wait("dave", 2)
	n := len(h.events())
	h.at(closes.Add(-time.Microsecond))
	h.wantWaiting("carol", 1)
	h.at(closes)
	want := sale.Status{Initialized: true, Total: 2, Held: 2, Phase: sale.PhaseClosed, ClosesAt: closes}
	if got := h.status(); !sameStatus(got, want) {
		t.Fatalf("status at the close:\n got %+v\nwant %+v", got, want)
	}
	events := h.events()
	if got := kindsSince(events, n); !slices.Equal(got, []sale.EventKind{sale.EventClosed}) || !events[n].At.Equal(closes) {
		t.Fatalf("events of the close: %s", showEvents(events[n:]))
	}
	h.wantNone("carol")
	h.wantNone("dave")
	for _, u := range []string{"eve", "carol"} {
		_, err := sale.Reserve(h.ctx, h.s, u)
		h.wantErr("reserve "+u+" after the close", err, sale.ErrSaleClosed)
	}
	_, err := sale.Reserve(h.ctx, h.s, "alice")
	h.wantConflict("alice, holding, reserves after the close", err, sale.ErrAlreadyReserved, a.ID, sale.Held)
	h.wantErr("leave after the close", h.s.Leave(h.ctx, "carol"), sale.ErrNotWaiting)
	// Holds given before the close are still the holders': confirmed,
	// or cancelled back to stock, where nobody waits for them.
	h.advance(time.Second)
	h.confirm(a.ID)
	h.cancel(b.ID)
	h.wantNone("carol")
	want = sale.Status{Initialized: true, Total: 2, Available: 1, Confirmed: 1, Phase: sale.PhaseClosed, ClosesAt: closes}
	if got := h.status(); !sameStatus(got, want) {
		t.Fatalf("status after the close:\n got %+v\nwant %+v", got, want)
	}
	_, err = sale.Reserve(h.ctx, h.s, "eve")
	h.wantErr("reserve with a unit in stock after the close", err, sale.ErrSaleClosed)
	if got := kindsSince(h.events(), n); !slices.Equal(got, []sale.EventKind{sale.EventClosed, sale.EventConfirmed, sale.EventCancelled}) {
		t.Fatalf("events since the close: %v", got)
	}
}

func holdsExpireToStockAfterTheClose(t *testing.T, f Factory) {
	h := start(t, f)
	closes := t0.Add(2 * time.Minute)
	h.initWindow(1, false, sale.Window{ClosesAt: closes})
	a := h.hold("alice") // expires after the close
	h.wait("bob", 1)
	h.at(closes)
	h.wantNone("bob")
	h.wantHolding("alice")
	h.at(a.ExpiresAt)
	if n := h.expire(); n != 1 {
		t.Fatalf("expired %d, want alice's", n)
	}
	h.wantReservationStatus(a.ID, sale.Expired)
	h.wantNone("bob")
	if st := h.status(); st.Available != 1 || st.Held != 0 || st.Waiting != 0 || st.Phase != sale.PhaseClosed {
		t.Fatalf("after an expiry past the close: %+v; want its unit in stock", st)
	}
	for _, e := range h.events() {
		if e.Kind == sale.EventPromoted || e.Kind == sale.EventGranted && e.At.After(closes) {
			t.Fatalf("a hold given after the close: %s", showEvents([]sale.Event{e}))
		}
	}
}

// An expiry due before the close, made only after it, is made as of when
// it fell due: the line's head, still there then, is promoted then, and
// keeps that hold after the close.
func anExpiryBeforeTheClosePromotes(t *testing.T, f Factory) {
	h := start(t, f)
	closes := t0.Add(8 * time.Minute)
	h.initWindow(1, false, sale.Window{ClosesAt: closes})
	a := h.hold("alice") // expires t0+5m
	h.wait("bob", 1)
	h.wait("carol", 2)
	n := len(h.events())
	h.at(t0.Add(9 * time.Minute))
	h.wantReservationStatus(a.ID, sale.Expired)
	b := h.wantHolding("bob")
	if !b.CreatedAt.Equal(a.ExpiresAt) || !b.ExpiresAt.Equal(a.ExpiresAt.Add(ttl)) {
		t.Fatalf("bob's hold: %+v; want one made when alice's expired, at %v", b, a.ExpiresAt)
	}
	h.wantNone("carol")
	events := h.events()
	want := []struct {
		kind sale.EventKind
		user string
		at   time.Time
	}{
		{sale.EventExpired, "alice", a.ExpiresAt},
		{sale.EventPromoted, "bob", a.ExpiresAt},
		{sale.EventClosed, "", closes},
	}
	if len(events)-n != len(want) {
		t.Fatalf("events: %s", showEvents(events[n:]))
	}
	for i, w := range want {
		if e := events[n+i]; e.Kind != w.kind || e.UserID != w.user || !e.At.Equal(w.at) {
			t.Fatalf("event %s at %v, want %s %s at %v", showEvents(events[n+i:n+i+1]), e.At, w.kind, w.user, w.at)
		}
	}
	h.confirm(b.ID)
	if st := h.status(); st.Phase != sale.PhaseClosed || st.Confirmed != 1 || st.Waiting != 0 {
		t.Fatalf("status: %+v", st)
	}
}
