package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// waitlistTests: the line is strict FIFO, positions are current, and a
// released unit goes to the head of the line (not its tail: pretix #2119).
var waitlistTests = []test{
	{"SoldOutJoinsLine", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		h.hold("alice")
		h.hold("bob")
		for i, u := range []string{"w1", "w2", "w3"} {
			h.wait(u, int64(i+1))
		}
		h.wantStatus(2, 0, 2, 0, 3)
		for i, u := range []string{"w1", "w2", "w3"} {
			h.wantWaiting(u, int64(i+1))
		}
		// Asking again tells the current place and does not join twice.
		h.waitAgain("w2", 2)
		h.waitAgain("w1", 1)
		h.wantStatus(2, 0, 2, 0, 3)
		h.wait("w4", 4)
	}},

	{"EmptySaleJoinsLine", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(0, false)
		h.wait("alice", 1)
		h.wait("bob", 2)
		h.wantStatus(0, 0, 0, 0, 2)
	}},

	{"ExpiryPromotesHeadOfLine", func(t *testing.T, f Factory) {
		// The same promotion whichever call applies the expiry first.
		firsts := []struct {
			name string
			call func(h *harness)
		}{
			{"Expire", func(h *harness) {
				if n := h.expire(); n != 1 {
					h.t.Fatalf("expire: %d, want 1 (the promoted hold is fresh)", n)
				}
			}},
			{"UserOfPromoted", func(h *harness) { h.wantHolding("w1") }},
			{"UserBehind", func(h *harness) { h.wantWaiting("w3", 2) }},
			{"Status", func(h *harness) { h.wantStatus(1, 0, 1, 0, 2) }},
			{"ReserveNewcomer", func(h *harness) { h.wait("zed", 3) }},
		}
		for _, first := range firsts {
			t.Run(first.name, func(t *testing.T) {
				h := start(t, f)
				h.init(1, false)
				a := h.hold("alice")
				h.wait("w1", 1)
				h.wait("w2", 2)
				h.wait("w3", 3)
				// Well after expiry: the promoted hold runs from the promotion,
				// not from the old hold's end.
				promotedAt := h.at(a.ExpiresAt.Add(90 * time.Second))
				first.call(h)

				p := h.wantHolding("w1")
				if !p.CreatedAt.Equal(promotedAt) || !p.ExpiresAt.Equal(promotedAt.Add(ttl)) || p.ID == a.ID || !validID(p.ID) {
					t.Fatalf("w1's hold %+v: want a new id, created %v, expiring %v", p, promotedAt, promotedAt.Add(ttl))
				}
				h.wantWaiting("w2", 1)
				h.wantWaiting("w3", 2)
				if last := h.wantNone("alice"); last == nil || last.ID != a.ID || last.Status != sale.Expired {
					t.Fatalf("alice's last hold: %+v, want %s expired", last, a.ID)
				}
				h.confirm(p.ID)
			})
		}
	}},

	{"CancelPromotesHeadOfLine", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		h.hold("bob")
		h.wait("w1", 1)
		h.wait("w2", 2)
		h.wait("w3", 3)
		at := h.advance(time.Minute)
		h.cancel(a.ID)
		p := h.wantHolding("w1")
		if !p.CreatedAt.Equal(at) || !p.ExpiresAt.Equal(at.Add(ttl)) {
			t.Fatalf("w1's hold %+v: want created %v, expiring %v", p, at, at.Add(ttl))
		}
		h.wantWaiting("w2", 1)
		h.wantWaiting("w3", 2)
		h.wantStatus(2, 0, 2, 0, 2)
	}},

	{"PromotedHoldExpiresInTurn", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("w1", 1)
		h.wait("w2", 2)
		h.clock.Set(a.ExpiresAt)
		p := h.wantHolding("w1")
		h.clock.Set(p.ExpiresAt.Add(-time.Nanosecond))
		h.wantHolding("w1")
		h.clock.Set(p.ExpiresAt)
		h.wantHolding("w2")
		h.wantNone("w1")
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"ReserveAgainGoesToBackOfLine", func(t *testing.T, f Factory) {
		for _, how := range []string{"expired", "cancelled"} {
			t.Run(how, func(t *testing.T) {
				h := start(t, f)
				h.init(1, false)
				a := h.hold("alice")
				h.wait("w1", 1)
				h.wait("w2", 2)
				if how == "expired" {
					h.clock.Set(a.ExpiresAt)
				} else {
					h.cancel(a.ID)
				}
				h.wantHolding("w1")
				h.wait("alice", 2)
				h.wantWaiting("w2", 1)
				h.wantStatus(1, 0, 1, 0, 2)
			})
		}
	}},

	{"UnitsGoInOrder", func(t *testing.T, f Factory) {
		// One unit passed down a line of 30 by turns of cancel and expiry:
		// each release goes to exactly the next person.
		h := start(t, f)
		h.init(1, false)
		cur := h.hold("first")
		for i := range 30 {
			h.wait(userName(i), int64(i+1))
		}
		for i := range 30 {
			if i%2 == 0 {
				h.cancel(cur.ID)
			} else {
				h.clock.Set(cur.ExpiresAt)
			}
			cur = h.wantHolding(userName(i))
			if i+1 < 30 {
				h.wantWaiting(userName(i+1), 1)
				h.wantWaiting(userName(29), int64(29-i))
			}
		}
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"LongLine", func(t *testing.T, f Factory) {
		// Long enough that a backend which compacts or pages its line has to.
		const n = 2500
		h := start(t, f)
		h.init(0, false)
		var line []string
		for i := range n {
			h.wait(userName(i), int64(i+1))
			line = append(line, userName(i))
		}
		for i := len(line) - 1; i >= 0; i-- {
			if i%7 == 3 {
				h.leave(line[i])
				line = slices.Delete(line, i, i+1)
			}
		}
		h.init(1200, false) // 1200 promotions at once
		for _, u := range line[:1200] {
			h.wantHolding(u)
		}
		line = line[1200:]
		h.leave(line[5])
		line = slices.Delete(line, 5, 6)
		h.wait("late", int64(len(line)+1))
		line = append(line, "late")
		for p, u := range line {
			h.wantWaiting(u, int64(p+1))
		}
		h.wantStatus(1200, 0, 1200, 0, int64(len(line)))
	}},

	{"Leave", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		for i, u := range []string{"w1", "w2", "w3", "w4"} {
			h.wait(u, int64(i+1))
		}
		h.leave("w2")
		h.wantWaiting("w1", 1)
		h.wantWaiting("w3", 2)
		h.wantWaiting("w4", 3)
		h.wantNone("w2")
		h.wantStatus(1, 0, 1, 0, 3)

		h.wantErr("leave twice", h.s.Leave(h.ctx, "w2"), sale.ErrNotWaiting)
		h.wantErr("holder leaves", h.s.Leave(h.ctx, "alice"), sale.ErrNotWaiting)
		h.wantErr("stranger leaves", h.s.Leave(h.ctx, "nobody"), sale.ErrNotWaiting)
		h.wantHolding("alice")

		// Back in line means the back of the line.
		h.wait("w2", 4)
		// The head leaves; the next release skips them.
		h.leave("w1")
		h.wantWaiting("w3", 1)
		h.clock.Set(a.ExpiresAt)
		h.wantHolding("w3")
		h.wantNone("w1")
		h.wantWaiting("w4", 1)
		h.wantWaiting("w2", 2)
		h.wantStatus(1, 0, 1, 0, 2)

		// The tail leaves, then everyone: the line is empty, and a cancel
		// returns the unit to stock.
		h.leave("w2")
		h.leave("w4")
		h.wantStatus(1, 0, 1, 0, 0)
		h.cancel(h.wantHolding("w3").ID)
		h.wantStatus(1, 1, 0, 0, 0)
	}},
}
