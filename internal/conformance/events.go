package conformance

import (
	"fmt"
	"slices"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// eventTests: Config.OnEvent hears every change to the line, in order.
var eventTests = []test{
	{"Sequence", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		a := h.hold("alice") // a hold from stock is no change to the line
		h.wait("w1", 1)
		h.wait("w2", 2)
		h.wait("w3", 3)
		h.waitAgain("w2", 2) // asking again is no change either
		h.leave("w2")
		h.cancel(a.ID)
		p1 := h.wantHolding("w1")
		h.wait("w4", 2)
		h.init(3, false)
		p3 := h.wantHolding("w3")
		p4 := h.wantHolding("w4")
		h.init(1, true)

		want := []sale.Event{
			{Kind: sale.EventJoined, UserID: "w1", Position: 1},
			{Kind: sale.EventJoined, UserID: "w2", Position: 2},
			{Kind: sale.EventJoined, UserID: "w3", Position: 3},
			{Kind: sale.EventLeft, UserID: "w2"},
			{Kind: sale.EventPromoted, UserID: "w1", ReservationID: p1.ID},
			{Kind: sale.EventJoined, UserID: "w4", Position: 2},
			{Kind: sale.EventPromoted, UserID: "w3", ReservationID: p3.ID},
			{Kind: sale.EventPromoted, UserID: "w4", ReservationID: p4.ID},
			{Kind: sale.EventReset},
		}
		got := h.log.all()
		if err := checkSeq(got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("events:\n got %s\nwant %s", showEvents(got), showEvents(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			// Left and reset events may carry a position or not; the rest
			// must match exactly.
			if g.Kind != w.Kind || g.UserID != w.UserID || g.ReservationID != w.ReservationID ||
				(g.Kind == sale.EventJoined && g.Position != w.Position) {
				t.Fatalf("event %d:\n got %s\nwant %s\nall: %s", i, showEvents(got[i:i+1]), showEvents(want[i:i+1]), showEvents(got))
			}
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
		line, err := replay(h.log.all())
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
	}
	return s + "]"
}
