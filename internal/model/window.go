package model

import (
	"encoding/hex"
	"io"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Seed is the seed of every draw the model makes. The stores it checks get
// it from Seeds, so that the model can predict their draws: a draw's order
// is a function of its seed, which a real sale picks at random.
var Seed = [sale.SeedSize]byte{
	0x5e, 0xed, 0x0f, 0x74, 0x68, 0x65, 0x20, 0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x27, 0x73, 0x20, 0x64,
	0x72, 0x61, 0x77, 0x2c, 0x20, 0x6b, 0x6e, 0x6f, 0x77, 0x6e, 0x20, 0x74, 0x6f, 0x20, 0x61, 0x6c,
}

var (
	commitment = sale.Commitment(Seed[:])
	seedHex    = hex.EncodeToString(Seed[:])
)

// Seeds returns the source of draw seeds to give the stores under test
// (sale.Config.Seeds): every read of SeedSize bytes yields Seed. It keeps
// no position, so that stores sharing it (two servers) read the same seed.
func Seeds() io.Reader { return seeds{} }

type seeds struct{}

func (seeds) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = Seed[i%len(Seed)]
	}
	return len(p), nil
}

// Advance makes everything due by now, in the order it fell due, and
// returns how many holds expired:
//   - the draw, when the opening has come: made as of the opening, so that
//     its holds count from then however late it is made;
//   - when the close has come, every expiry due strictly before it, each
//     as of its own time (a promotion it gives is made then, while the sale
//     was open), then the close, which empties the line;
//   - every other expiry due, as of now.
func (s *Sale) Advance(now time.Time) int {
	if s.Phase == sale.PhaseScheduled && !now.Before(s.OpensAt) {
		s.draw()
	}
	n := 0
	if s.Phase == sale.PhaseOpen && !s.ClosesAt.IsZero() && !now.Before(s.ClosesAt) {
		n = s.expire(s.ClosesAt, true)
		for _, u := range s.Line {
			s.Users[u] = User{State: sale.None, Hold: s.user(u).Hold}
		}
		s.Line, s.Phase = nil, sale.PhaseClosed
	}
	return n + s.expire(now, false)
}

// expire expires the holds due at t (strictly before t when before is
// set). Holds are made in time order and all last TTL, so they fall due in
// index order, those the expiries here give included: one scan from the
// start, up to the end as it grows, takes them in order. Before the close
// each expires as of its own time; otherwise all expire as of t.
func (s *Sale) expire(t time.Time, before bool) int {
	n := 0
	for i := 0; i < len(s.Holds); i++ {
		h := &s.Holds[i]
		if h.Status != sale.Held || h.Expires.After(t) || before && h.Expires.Equal(t) {
			continue
		}
		h.Status = sale.Expired
		s.Users[h.User] = User{State: sale.None, Hold: i}
		at := t
		if before {
			at = h.Expires
		}
		s.release(at)
		n++
	}
	return n
}

// draw orders the pre-queue by the draw (sale.DrawOrder, the documented
// function anyone can recompute) and makes it the line, whose head gets
// the units in stock, as of the opening.
func (s *Sale) draw() {
	s.Entrants = sale.DrawOrder(s.Seed, s.Pre)
	s.Line = append([]string(nil), s.Entrants...)
	for _, u := range s.Entrants {
		s.Users[u] = User{State: sale.Waiting, Hold: s.user(u).Hold}
	}
	s.Pre, s.Phase, s.Drawn = nil, sale.PhaseOpen, true
	for s.Available > 0 && len(s.Line) > 0 {
		s.Available--
		s.release(s.OpensAt)
	}
}

// schedule returns the window an initialize at now sets, or the kind of
// error that refuses it.
func (s *Sale) schedule(now time.Time, fresh bool, w sale.Window) (opens, closes time.Time, kind sale.Kind) {
	if !w.OpensAt.IsZero() {
		w.OpensAt = sale.Instant(w.OpensAt)
	}
	if !w.ClosesAt.IsZero() {
		w.ClosesAt = sale.Instant(w.ClosesAt)
	}
	if !fresh {
		opens, closes = s.OpensAt, s.ClosesAt
	}
	if !w.OpensAt.IsZero() && !w.OpensAt.Equal(opens) {
		switch {
		case !fresh && s.Phase != sale.PhaseScheduled && !w.OpensAt.After(now):
			// open since a time that passed, as asked: no change
		case !fresh && s.Phase != sale.PhaseScheduled:
			return opens, closes, sale.ErrScheduleConflict.Kind()
		case w.OpensAt.After(now):
			opens = w.OpensAt
		case !fresh:
			opens = now
		}
	}
	if !w.ClosesAt.IsZero() && !w.ClosesAt.Equal(closes) {
		if !fresh && s.Phase == sale.PhaseClosed || !w.ClosesAt.After(now) {
			return opens, closes, sale.ErrScheduleConflict.Kind()
		}
		closes = w.ClosesAt
	}
	if !opens.IsZero() && !closes.IsZero() && !closes.After(opens) {
		// One of the two is the sale's own: a conflict with its schedule,
		// not a malformed call (which CheckWindow refused above).
		return opens, closes, sale.ErrScheduleConflict.Kind()
	}
	return opens, closes, ""
}

// EntrantList returns the draw's entrants, sorted: the pre-queue while the
// sale is scheduled, the draw's once it is made, none for a sale with no
// draw.
func (s *Sale) EntrantList(now time.Time) []string {
	s.Advance(now)
	list := s.Entrants
	if s.Phase == sale.PhaseScheduled {
		list = s.Pre
	}
	return slices.Sorted(slices.Values(list))
}
