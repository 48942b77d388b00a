package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// eventTests: the feed has every change, committed, in order, numbered
// without a gap.
var eventTests = []test{
	{"Sequence", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("w1", 1)
		h.wait("w2", 2)
		h.wait("w3", 3)
		h.waitAgain("w2", 2) // asking again changes nothing
		h.leave("w2")
		h.cancel(a.ID)
		p1 := h.wantHolding("w1")
		h.confirm(p1.ID)
		h.wait("w4", 2)
		h.init(3, false)
		p3 := h.wantHolding("w3")
		p4 := h.wantHolding("w4")
		h.advance(ttl)
		h.expire()
		h.init(3, false) // the same total again changes nothing
		before := h.events()
		h.init(1, true)

		want := []sale.Event{
			{Kind: sale.EventInitialized, Total: 1},
			{Kind: sale.EventGranted, UserID: "alice", ReservationID: a.ID},
			{Kind: sale.EventJoined, UserID: "w1", Position: 1},
			{Kind: sale.EventJoined, UserID: "w2", Position: 2},
			{Kind: sale.EventJoined, UserID: "w3", Position: 3},
			{Kind: sale.EventLeft, UserID: "w2", Position: 2},
			{Kind: sale.EventCancelled, UserID: "alice", ReservationID: a.ID},
			{Kind: sale.EventPromoted, UserID: "w1", ReservationID: p1.ID},
			{Kind: sale.EventConfirmed, UserID: "w1", ReservationID: p1.ID},
			{Kind: sale.EventJoined, UserID: "w4", Position: 2},
			{Kind: sale.EventInitialized, Total: 3},
			{Kind: sale.EventPromoted, UserID: "w3", ReservationID: p3.ID},
			{Kind: sale.EventPromoted, UserID: "w4", ReservationID: p4.ID},
			{Kind: sale.EventExpired, UserID: "w3", ReservationID: p3.ID},
			{Kind: sale.EventExpired, UserID: "w4", ReservationID: p4.ID},
			{Kind: sale.EventReset},
			{Kind: sale.EventInitialized, Total: 1},
		}
		got := append(before, h.events()...)
		if err := checkSeq(got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("events:\n got %s\nwant %s", showEvents(got), showEvents(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Kind != w.Kind || g.UserID != w.UserID || g.ReservationID != w.ReservationID ||
				g.Position != w.Position || g.Total != w.Total {
				t.Fatalf("event %d:\n got %s\nwant %s\nall: %s", i, showEvents(got[i:i+1]), showEvents(want[i:i+1]), showEvents(got))
			}
			if g.At.IsZero() || (g.Kind == sale.EventGranted || g.Kind == sale.EventPromoted) && !g.ExpiresAt.Equal(g.At.Add(ttl)) {
				t.Fatalf("event %d: %+v: want a time, and a new hold's expiry one TTL after it", i, g)
			}
		}
		if !got[1].At.Equal(a.CreatedAt) || !got[7].At.Equal(p1.CreatedAt) {
			t.Fatalf("events are dated %v and %v, the holds they made %v and %v", got[1].At, got[7].At, a.CreatedAt, p1.CreatedAt)
		}
	}},

	{"WakesConsumers", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		events, more, err := h.s.Events(h.ctx, 0, 10)
		if err != nil || len(events) != 1 {
			t.Fatalf("events: %v, %v; want the initialization", events, err)
		}
		select {
		case <-more:
			t.Fatal("the wake channel is closed before anything new was committed")
		default:
		}
		h.hold("alice")
		select {
		case <-more:
		case <-time.After(10 * time.Second):
			t.Fatal("a commit did not wake the consumer")
		}
		events, _, err = h.s.Events(h.ctx, events[0].Seq, 10)
		if err != nil || len(events) != 1 || events[0].Kind != sale.EventGranted {
			t.Fatalf("events after the wake: %s, %v", showEvents(events), err)
		}
	}},

	{"Paged", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(0, false)
		for i := range 25 {
			h.wait(userName(i), int64(i+1))
		}
		events, more, err := h.s.Events(h.ctx, 3, 10)
		if err != nil || len(events) != 10 || events[0].Seq != 4 {
			t.Fatalf("events after 3, 10 of them: %s, %v", showEvents(events), err)
		}
		select {
		case <-more:
		default:
			t.Fatal("a page short of the newest event must come with a closed wake channel")
		}
		if _, _, err := h.s.Events(h.ctx, 0, 0); !errors.Is(err, sale.ErrInvalid) {
			t.Fatalf("a limit of 0: %v, want sale.ErrInvalid", err)
		}
	}},

	{"Subscribe", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		ctx, cancel := context.WithCancel(h.ctx)
		sub := sale.Subscribe(ctx, h.s, 0)
		h.hold("alice")
		h.wait("bob", 1)
		var got []sale.Event
		for len(got) < 3 {
			select {
			case e := <-sub.C():
				got = append(got, e)
			case <-time.After(10 * time.Second):
				t.Fatalf("subscription delivered %s, then nothing for 10s", showEvents(got))
			}
		}
		if err := checkSeq(got); err != nil || got[0].Seq != 1 || got[1].Kind != sale.EventGranted || got[2].Kind != sale.EventJoined {
			t.Fatalf("subscription delivered %s (%v)", showEvents(got), err)
		}
		if err := sub.Err(); err != nil {
			t.Fatalf("a running subscription reports %v", err)
		}
		cancel()
		for range sub.C() { // drained and closed once the context ends
		}
		if err := sub.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("an ended subscription reports %v, want context.Canceled", err)
		}
	}},

	{"BeforeResetStartsAtReset", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		h.hold("alice")
		h.wait("bob", 1)
		h.init(2, true)
		all := h.events()
		// A consumer that last saw the first event may be told the rest or
		// start at the reset; either way the reset is the first thing after
		// its seq that it hears of the new sale, and nothing is reordered.
		events, _, err := h.s.Events(h.ctx, 1, 100)
		if err != nil || len(events) == 0 {
			t.Fatalf("events after 1: %s, %v", showEvents(events), err)
		}
		if events[len(events)-1].Seq != lastSeq(all) || checkSeq(events) != nil {
			t.Fatalf("events after 1: %s; all: %s", showEvents(events), showEvents(all))
		}
		if events[0].Seq != 2 && events[0].Kind != sale.EventReset {
			t.Fatalf("events after 1 start with %s: neither the next one nor a reset", showEvents(events[:1]))
		}
	}},

	{"StateSaysWhereTheFeedGoesOn", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice")
		h.wait("bob", 1)
		u, err := h.s.User(h.ctx, "bob")
		if err != nil || u.Seq == 0 || u.Sale != 0 {
			t.Fatalf("bob: %+v, %v; want the newest event's seq, and sale 0 before any reset", u, err)
		}
		if events, _, err := h.s.Events(h.ctx, u.Seq, 100); err != nil || len(events) != 0 {
			t.Fatalf("events after bob's state: %s, %v; want none yet", showEvents(events), err)
		}
		h.cancel(a.ID) // bob is promoted
		events, _, err := h.s.Events(h.ctx, u.Seq, 100)
		if err != nil || len(events) != 2 || events[0].Seq != u.Seq+1 || events[1].Kind != sale.EventPromoted {
			t.Fatalf("events after bob's state: %s, %v; want the cancel and bob's promotion", showEvents(events), err)
		}
		u, err = h.s.User(h.ctx, "bob")
		if err != nil || u.Seq != events[1].Seq || u.State != sale.Holding {
			t.Fatalf("bob: %+v, %v; want held, as of seq %d", u, err, events[1].Seq)
		}
		newest, err := h.s.Newest(h.ctx)
		if err != nil || newest == 0 || newest > u.Seq {
			t.Fatalf("newest: %d, %v; want at most %d (what a read has seen)", newest, err, u.Seq)
		}

		h.init(1, true)
		events, _, err = h.s.Events(h.ctx, u.Seq, 100)
		if err != nil || len(events) == 0 || events[0].Kind != sale.EventReset {
			t.Fatalf("events after the reset: %s, %v", showEvents(events), err)
		}
		u, err = h.s.User(h.ctx, "bob")
		if err != nil || u.Sale != events[0].Seq || u.State != sale.None || u.Reservation != nil {
			t.Fatalf("bob after the reset: %+v, %v; want nothing, in the sale begun at %d", u, err, events[0].Seq)
		}
	}},

	{"ExpiryPromotion", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		a := h.hold("alice")
		h.hold("bob")
		h.wait("w1", 1)
		h.wait("w2", 2)
		h.wait("w3", 3)
		h.clock.Set(a.ExpiresAt) // both holds expire at once
		h.expire()
		line, err := replay(h.events())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(line, []string{"w3"}) {
			t.Fatalf("line after two expiries, replayed from events: %q, want [w3]", line)
		}
		for _, u := range []string{"w1", "w2"} {
			h.wantHolding(u)
		}
	}},
}

// checkSeq checks that events are numbered one after another.
func checkSeq(events []sale.Event) error {
	for i := 1; i < len(events); i++ {
		if events[i].Seq != events[i-1].Seq+1 {
			return fmt.Errorf("event %d has seq %d after %d: %s", i, events[i].Seq, events[i-1].Seq, showEvents(events[i-1:i+1]))
		}
	}
	return nil
}

// replay rebuilds the line from the events, checking each against it: a
// joiner's position is the line's new length, and only the head is promoted.
func replay(events []sale.Event) ([]string, error) {
	if err := checkSeq(events); err != nil {
		return nil, err
	}
	var line []string
	for i, e := range events {
		switch e.Kind {
		case sale.EventJoined:
			if slices.Contains(line, e.UserID) {
				return nil, fmt.Errorf("event %d: %s joins the line twice", i, e.UserID)
			}
			line = append(line, e.UserID)
			if e.Position != int64(len(line)) {
				return nil, fmt.Errorf("event %d: %s joins at %d, the line is %d long", i, e.UserID, e.Position, len(line))
			}
		case sale.EventLeft:
			j := slices.Index(line, e.UserID)
			if j < 0 {
				return nil, fmt.Errorf("event %d: %s leaves a line they are not in", i, e.UserID)
			}
			line = slices.Delete(line, j, j+1)
		case sale.EventPromoted:
			if len(line) == 0 || line[0] != e.UserID {
				return nil, fmt.Errorf("event %d: %s promoted, but the head of the line is %q", i, e.UserID, line[:min(1, len(line))])
			}
			if e.ReservationID == "" {
				return nil, fmt.Errorf("event %d: %s promoted without a reservation id", i, e.UserID)
			}
			line = line[1:]
		case sale.EventReset:
			line = nil
		case sale.EventInitialized, sale.EventGranted, sale.EventConfirmed, sale.EventCancelled, sale.EventExpired:
			// no change to the line
		default:
			return nil, fmt.Errorf("event %d: unknown kind %q", i, e.Kind)
		}
	}
	return line, nil
}

func showEvents(events []sale.Event) string {
	s := "["
	for i, e := range events {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("#%d %s %s", e.Seq, e.Kind, e.UserID)
		if e.Position != 0 {
			s += fmt.Sprintf("@%d", e.Position)
		}
		if e.ReservationID != "" {
			s += " " + e.ReservationID
		}
		if e.Kind == sale.EventInitialized {
			s += fmt.Sprintf(" total=%d", e.Total)
		}
	}
	return s + "]"
}
