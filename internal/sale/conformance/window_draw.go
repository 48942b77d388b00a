package conformance

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

func holdsAppearAtTheOpening(t *testing.T, f Factory) {
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(2, opens)
	users := make([]string, 6)
	for i := range users {
		users[i] = userName(i)
		h.queue(users[i], false, opens, c)
		h.advance(time.Second)
	}
	n := len(h.events())
	h.at(opens)
	// This read is the first call at the opening: it makes the draw.
	st := h.status()
	seed, err := sale.ParseSeed(st.DrawSeed)
	if err != nil || sale.Commitment(seed) != c {
		t.Fatalf("status at the opening %+v: seed %v; want the seed of the commitment %s published before", st, err, c)
	}
	want := sale.Status{Initialized: true, Total: 2, Held: 2, Waiting: 4, Phase: sale.PhaseOpen, OpensAt: opens,
		DrawCommitment: c, DrawSeed: st.DrawSeed}
	if !sameStatus(st, want) {
		t.Fatalf("status at the opening:\n got %+v\nwant %+v", st, want)
	}
	h.wantEntrants(users...)
	order := sale.DrawOrder(seed, users)
	h.wantDrawn(order, 2, opens)
	events := h.events()
	if got := kindsSince(events, n); !slices.Equal(got, []sale.EventKind{sale.EventDrawn, sale.EventPromoted, sale.EventPromoted}) {
		t.Fatalf("events of the opening: %s", showEvents(events[n:]))
	}
	for i, e := range events[n:] {
		if !e.At.Equal(opens) || i > 0 && e.UserID != order[i-1] {
			t.Fatalf("event %s at %v; want every event of the draw at the opening %v, the holds for %v", showEvents(events[n+i:n+i+1]), e.At, opens, order[:2])
		}
	}
	// The draw's holds last a TTL from the opening.
	h.at(opens.Add(ttl - time.Microsecond))
	h.wantDrawn(order, 2, opens)
	h.at(opens.Add(ttl))
	if n := h.expire(); n != 2 {
		t.Fatalf("at the opening + TTL %d holds expired, want the draw's 2", n)
	}
	for _, u := range order[2:4] {
		h.freshHold(h.wantHolding(u), u)
	}
	for i, u := range order[4:] {
		h.wantWaiting(u, int64(i+1))
	}
}

// Whatever call comes first at the opening makes the draw, reads too, and
// answers as of after it; the feed (which decides nothing) shows it made.
func anyCallMakesTheDraw(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		call func(h *harness) error
	}{
		{"Status", func(h *harness) error { _, err := h.s.Status(h.ctx); return err }},
		{"User", func(h *harness) error {
			u, err := h.s.User(h.ctx, "nobody")
			if err == nil && u.Phase != sale.PhaseOpen {
				err = fmt.Errorf("user answered as of phase %q", u.Phase)
			}
			return err
		}},
		{"Entrants", func(h *harness) error { _, err := h.s.Entrants(h.ctx); return err }},
		{"Reservation", func(h *harness) error {
			_, err := h.s.Reservation(h.ctx, "no-such-hold")
			return ignore(err, sale.ErrReservationNotFound)
		}},
		{"Expire", func(h *harness) error { _, err := h.s.Expire(h.ctx); return err }},
		{"Reserve", func(h *harness) error {
			res, err := sale.Reserve(h.ctx, h.s, "late")
			if err == nil && res.Position != 3 {
				err = fmt.Errorf("a reserve at the opening: %+v, want place 3, behind the drawn", res)
			}
			return err
		}},
		{"Leave", func(h *harness) error { return ignore(h.s.Leave(h.ctx, "nobody"), sale.ErrNotWaiting) }},
		{"Confirm", func(h *harness) error {
			_, err := sale.Confirm(h.ctx, h.s, "no-such-hold")
			return ignore(err, sale.ErrReservationNotFound)
		}},
		{"Initialize", func(h *harness) error { _, err := sale.Initialize(h.ctx, h.s, 1, false); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, f)
			opens := t0.Add(time.Minute)
			c := h.schedule(1, opens)
			for _, u := range []string{"alice", "bob", "carol"} {
				h.queue(u, false, opens, c)
			}
			h.at(opens)
			if err := tc.call(h); err != nil {
				t.Fatalf("%s at the opening: %v", tc.name, err)
			}
			events := h.events()
			drawn := slices.IndexFunc(events, func(e sale.Event) bool { return e.Kind == sale.EventDrawn })
			if drawn < 0 || !events[drawn].At.Equal(opens) || len(events) < drawn+2 || events[drawn+1].Kind != sale.EventPromoted {
				t.Fatalf("after a %s at the opening the feed is %s; want the draw made, at %v", tc.name, showEvents(events), opens)
			}
			h.wantDrawn(h.drawnOrder(c), 1, opens)
		})
	}
}

func ignore(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("no error, want %v", target)
	}
	return err
}

// A draw nobody asked for until long after the opening is still the
// opening's: its holds count from it, and expire in the same step if their
// TTL has passed, their units going on down the drawn line.
func aLateDrawCountsFromTheOpening(t *testing.T, f Factory) {
	t.Run("WithinTheTTL", func(t *testing.T) {
		h := start(t, f)
		opens := t0.Add(time.Minute)
		c := h.schedule(2, opens)
		for i := range 4 {
			h.queue(userName(i), false, opens, c)
		}
		h.at(opens.Add(ttl / 2))
		if n := h.expire(); n != 0 {
			t.Fatalf("a draw made half a TTL late expired %d holds", n)
		}
		h.wantDrawn(h.drawnOrder(c), 2, opens)
	})
	t.Run("PastTheTTL", func(t *testing.T) {
		h := start(t, f)
		opens := t0.Add(time.Minute)
		c := h.schedule(1, opens)
		for i := range 3 {
			h.queue(userName(i), false, opens, c)
		}
		now := h.at(opens.Add(ttl + time.Second))
		if n := h.expire(); n != 1 {
			t.Fatalf("a draw made a TTL late expired %d holds, want the first drawn's", n)
		}
		order := h.drawnOrder(c)
		r := h.wantNone(order[0])
		if r == nil || r.Status != sale.Expired || !r.CreatedAt.Equal(opens) || !r.ExpiresAt.Equal(opens.Add(ttl)) {
			t.Fatalf("%s, drawn first: last hold %+v; want one from the opening, expired", order[0], r)
		}
		if r := h.wantHolding(order[1]); !r.CreatedAt.Equal(now) {
			t.Fatalf("%s, drawn second: %+v; want a hold from %v, when the first expired", order[1], r, now)
		}
		h.wantWaiting(order[2], 1)
	})
}

func arrivalsAfterTheOpeningGoBehind(t *testing.T, f Factory) {
	t.Run("SoldOut", func(t *testing.T) {
		h := start(t, f)
		opens := t0.Add(time.Minute)
		c := h.schedule(1, opens)
		queued := []string{"a", "b", "c", "d"}
		for _, u := range queued {
			h.queue(u, false, opens, c)
		}
		h.at(opens.Add(time.Second))
		h.wait("late1", 4)
		h.wait("late2", 5)
		order := h.drawnOrder(c)
		h.wantEntrants(queued...)
		h.wantDrawn(order, 1, opens)
		h.wantWaiting("late1", 4)
		h.wantWaiting("late2", 5)
		h.cancel(h.wantHolding(order[0]).ID)
		h.freshHold(h.wantHolding(order[1]), order[1])
		h.wantWaiting("late1", 3)
	})
	t.Run("InStock", func(t *testing.T) {
		h := start(t, f)
		opens := t0.Add(time.Minute)
		c := h.schedule(5, opens)
		h.queue("a", false, opens, c)
		h.queue("b", false, opens, c)
		h.at(opens.Add(time.Second))
		h.hold("late") // a fresh hold, made now
		h.wantDrawn(h.drawnOrder(c), 2, opens)
		h.wantEntrants("a", "b")
		if st := h.status(); st.Held != 3 || st.Available != 2 || st.Waiting != 0 {
			t.Fatalf("status: %+v; want the draw's 2 holds and late's", st)
		}
	})
}

func entrantsBeforeAndAfterTheDraw(t *testing.T, f Factory) {
	h := start(t, f)
	h.wantEntrants() // no sale
	h.init(3, false)
	h.hold("alice")
	h.wantEntrants() // a sale with no draw
	opens := t0.Add(time.Minute)
	c := h.initWindow(1, true, sale.Window{OpensAt: opens}).DrawCommitment
	h.wantEntrants()
	for _, u := range []string{"zed", "yan", "xia", "wil"} {
		h.queue(u, false, opens, c)
	}
	h.leave("yan")
	h.wantEntrants("wil", "xia", "zed")
	h.at(opens)
	order := h.drawnOrder(c)
	h.wantEntrants("wil", "xia", "zed")
	// Whatever becomes of them, the draw's entrants stay its entrants,
	// and nobody else is one.
	h.wait("late", 3)
	h.confirm(h.wantHolding(order[0]).ID)
	h.leave(order[1])
	h.wantEntrants("wil", "xia", "zed")
}

// Many calls race at the opening, as sweepers on several servers do: one
// draw is made, and every read, on any server, shows its one order.
func oneDrawWhateverRacesForIt(t *testing.T, f Factory) {
	const units, queued, racers = 3, 20, 12
	h := start(t, f)
	opens := t0.Add(time.Minute)
	c := h.schedule(units, opens)
	users := make([]string, queued)
	for i := range users {
		users[i] = userName(i)
		h.queue(users[i], false, opens, c)
	}
	h.at(opens)
	together(racers, func(i int) {
		var err error
		switch i % 4 {
		case 0:
			_, err = h.s.Expire(h.ctx)
		case 1:
			_, err = h.s.Status(h.ctx)
		case 2:
			_, err = h.s.User(h.ctx, users[i])
		case 3:
			var res sale.ReserveResult
			res, err = sale.Reserve(h.ctx, h.s, fmt.Sprintf("late-%d", i))
			if err == nil && (res.Position <= queued-units || res.Reservation != nil) {
				err = fmt.Errorf("a reserve at the opening: %+v, want a place behind the %d drawn", res, queued-units)
			}
		}
		if err != nil {
			t.Errorf("racer %d: %v", i, err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	events := h.events()
	draws := 0
	for i, e := range events {
		if e.Kind != sale.EventDrawn {
			continue
		}
		draws++
		if !e.At.Equal(opens) || len(events) < i+1+units {
			t.Fatalf("the draw %s at %v", showEvents(events[i:i+1]), e.At)
		}
		for _, p := range events[i+1 : i+1+units] {
			if p.Kind != sale.EventPromoted || !p.At.Equal(opens) {
				t.Fatalf("after the draw: %s; want its %d holds", showEvents(events[i:i+1+units]), units)
			}
		}
	}
	if draws != 1 {
		t.Fatalf("%d draws in the feed: %s", draws, showEvents(events))
	}
	order := h.drawnOrder(c)
	h.wantEntrants(users...)
	// Read twice: with several servers, each read goes to the next one.
	for range 2 {
		h.wantDrawn(order, units, opens)
		for i := 0; i < racers; i += 4 {
			if u := h.user(fmt.Sprintf("late-%d", i+3)); u.State != sale.Waiting || u.Position <= queued-units {
				t.Fatalf("late-%d: %s; want waiting behind the drawn", i+3, show(u))
			}
		}
		if s := h.revealed(c); !slices.Equal(sale.DrawOrder(s, users), order) {
			t.Fatal("another server reveals another seed")
		}
	}
}

// The seed is read from Config.Seeds, so that a test can know the draw
// before it is made.
func seedsComeFromTheConfig(t *testing.T, f Factory) {
	seed := bytes.Repeat([]byte{0x5a}, sale.SeedSize)
	h := startWith(t, f, sale.Config{Seeds: bytes.NewReader(bytes.Repeat(seed, 4))})
	opens := t0.Add(time.Minute)
	c := h.schedule(1, opens)
	if c != sale.Commitment(seed) {
		t.Fatalf("commitment %s, want the configured seed's %s", c, sale.Commitment(seed))
	}
	users := []string{"alice", "bob", "carol", "dave"}
	for _, u := range users {
		h.queue(u, false, opens, c)
	}
	want := sale.DrawOrder(seed, users) // known before the opening
	h.at(opens)
	if st := h.status(); st.DrawSeed != hex.EncodeToString(seed) {
		t.Fatalf("seed %s revealed, want the configured %x", st.DrawSeed, seed)
	}
	h.wantDrawn(want, 1, opens)
}
