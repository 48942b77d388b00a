package rules

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// window is a sale's opening and close, its draw, and the pre-queue that
// waits for the draw. A sale with no window is open from its initialize.
type window struct {
	phase    sale.Phase
	opensAt  time.Time // zero: opened at the initialize
	closesAt time.Time // zero: never closes
	seed     []byte    // the draw's; nil for a sale with no draw
	commit   string    // sale.Commitment(seed), made once
	drawn    bool      // the draw was made: the seed is public
	keys     *sale.DrawKeys
	pre      prequeue
	entrants []ref // after the draw: everyone it ordered, in drawn order
}

// schedule decides the window an initialize sets (one that CheckWindow
// passed), and returns the scheduled event to emit, or nil when the window
// does not change; it emits nothing, so that an initialize it refuses
// changes nothing. fresh says the initialize begins a sale (the first, or
// a reset); the others may move a time only while it is ahead.
func (s *Sale) schedule(now time.Time, fresh bool, w sale.Window) (*sale.Event, error) {
	w.OpensAt, w.ClosesAt = instantOrZero(w.OpensAt), instantOrZero(w.ClosesAt)
	cur := &s.window
	next := sale.Event{Kind: sale.EventScheduled, At: now, OpensAt: cur.opensAt, ClosesAt: cur.closesAt, Seed: cur.seed}
	if fresh {
		next.OpensAt, next.ClosesAt, next.Seed = time.Time{}, time.Time{}, nil
	}
	if !w.OpensAt.IsZero() && !w.OpensAt.Equal(next.OpensAt) {
		switch {
		case !fresh && cur.phase != sale.PhaseScheduled && !w.OpensAt.After(now):
			// Open since a time already passed, as asked: a script that
			// sends its initialize again (to change the total, say) is
			// not refused for it.
		case !fresh && cur.phase != sale.PhaseScheduled:
			return nil, fmt.Errorf("opens_at %s: %w: the sale opened already", sale.Stamp(w.OpensAt), sale.ErrScheduleConflict)
		case w.OpensAt.After(now):
			next.OpensAt = w.OpensAt
		case fresh:
			// An opening already passed is an opening now: no draw, nobody
			// having queued.
		default:
			next.OpensAt = now // open now: the draw is made at once
		}
	}
	if !w.ClosesAt.IsZero() && !w.ClosesAt.Equal(next.ClosesAt) {
		switch {
		case !fresh && cur.phase == sale.PhaseClosed:
			return nil, fmt.Errorf("closes_at %s: %w: the sale closed already", sale.Stamp(w.ClosesAt), sale.ErrScheduleConflict)
		case !w.ClosesAt.After(now):
			return nil, fmt.Errorf("closes_at %s: %w: it has passed", sale.Stamp(w.ClosesAt), sale.ErrScheduleConflict)
		}
		next.ClosesAt = w.ClosesAt
	}
	if !next.OpensAt.IsZero() && !next.ClosesAt.IsZero() && !next.ClosesAt.After(next.OpensAt) {
		// One of the two is the sale's own (both from the call are
		// CheckWindow's, above).
		return nil, fmt.Errorf("closes_at %s: %w: it is not after opens_at %s", sale.Stamp(next.ClosesAt), sale.ErrScheduleConflict, sale.Stamp(next.OpensAt))
	}
	if !next.OpensAt.IsZero() && next.Seed == nil {
		next.Seed = s.newSeed()
	}
	if fresh && next.OpensAt.IsZero() && next.ClosesAt.IsZero() {
		return nil, nil // a sale open from now on, as with no window at all
	}
	if !fresh && next.OpensAt.Equal(cur.opensAt) && next.ClosesAt.Equal(cur.closesAt) {
		return nil, nil
	}
	return &next, nil
}

func instantOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return sale.Instant(t)
}

// newSeed returns a fresh secret seed for a draw.
func (s *Sale) newSeed() []byte {
	seed := make([]byte, sale.SeedSize)
	if _, err := io.ReadFull(s.seeds, seed); err != nil {
		panic(fmt.Sprintf("rules: read a draw seed: %v", err)) // crypto/rand does not fail
	}
	return seed
}

// advance makes what the clock made due by now, in the order it fell due:
// the draw at the opening (stamped then, so that its holds count from the
// opening however late it is made), the expiries before the close (stamped
// when each was due, so that a promotion they give is made while the sale
// was open), the close, then the other expiries due. It reports how many
// holds expired. Every decision calls it first.
func (s *Sale) advance(now time.Time) int {
	w := &s.window
	if w.phase == sale.PhaseScheduled && !now.Before(w.opensAt) {
		s.emit(sale.Event{Kind: sale.EventDrawn, At: w.opensAt})
		for s.available > 0 && s.line.len() > 0 {
			s.promote(w.opensAt)
		}
	}
	n := 0
	if w.phase == sale.PhaseOpen && !w.closesAt.IsZero() && !now.Before(w.closesAt) {
		for s.dueFirst(w.closesAt) {
			h := s.expiries.pop()
			s.emit(sale.Event{Kind: sale.EventExpired, At: h.expiresAt, UserID: h.user, ReservationID: h.id})
			s.refill(h.expiresAt)
			n++
		}
		s.emit(sale.Event{Kind: sale.EventClosed, At: w.closesAt})
	}
	return n + s.expire(now)
}

// dueFirst reports whether a hold expires strictly before t.
func (s *Sale) dueFirst(t time.Time) bool {
	s.dropResolved()
	return len(s.expiries) > 0 && s.expiries.peek().expiresAt.Before(t)
}

// due reports whether the draw or the close is due at now.
func (w *window) due(now time.Time) bool {
	switch w.phase {
	case sale.PhaseScheduled:
		return !now.Before(w.opensAt)
	case sale.PhaseOpen:
		return !w.closesAt.IsZero() && !now.Before(w.closesAt)
	}
	return false
}

// queue puts user, who has nothing in this sale, in the pre-queue.
func (s *Sale) queue(now time.Time, user string, already bool) sale.ReserveResult {
	if !already {
		s.emit(sale.Event{Kind: sale.EventQueued, At: now, UserID: user})
	}
	return sale.ReserveResult{Queued: true, AlreadyWaiting: already, OpensAt: s.window.opensAt, DrawCommitment: s.window.commit}
}

// applyScheduled sets the window e records.
func (s *Sale) applyScheduled(e sale.Event) error {
	w := &s.window
	if !e.OpensAt.IsZero() && !e.OpensAt.Equal(w.opensAt) && w.phase != sale.PhaseScheduled && s.initialized {
		return fmt.Errorf("opening moved to %v in a sale that is %s", e.OpensAt, w.phase)
	}
	if w.phase == sale.PhaseClosed {
		return fmt.Errorf("window set in a closed sale")
	}
	if w.seed != nil && string(w.seed) != string(e.Seed) {
		return fmt.Errorf("the draw's seed changed")
	}
	if !e.OpensAt.IsZero() && len(e.Seed) != sale.SeedSize {
		return fmt.Errorf("a scheduled opening with a seed of %d bytes", len(e.Seed))
	}
	w.opensAt, w.closesAt = e.OpensAt, e.ClosesAt
	if e.Seed != nil && w.seed == nil {
		w.seed = append([]byte(nil), e.Seed...)
		w.keys = sale.NewDrawKeys(w.seed)
		w.commit = sale.Commitment(w.seed)
	}
	if !e.OpensAt.IsZero() && (w.phase == sale.PhaseScheduled || !s.initialized) {
		w.phase = sale.PhaseScheduled
	}
	return nil
}

// applyQueued puts e's user in the pre-queue.
func (s *Sale) applyQueued(e sale.Event) error {
	if s.window.phase != sale.PhaseScheduled {
		return fmt.Errorf("%s queues in a sale that is %s", e.UserID, s.window.phase)
	}
	r := s.accounts.find(e.UserID)
	if r != 0 && s.accounts.get(r).state != sale.None {
		return fmt.Errorf("%s queues, but is %s", e.UserID, s.accounts.get(r).state)
	}
	if r == 0 {
		r = s.accounts.add(e.UserID)
	}
	s.window.pre.push(s.accounts, r, s.window.keys.Key(e.UserID))
	s.accounts.get(r).state = sale.Queued
	return nil
}

// applyDrawn orders the pre-queue by the draw and makes it the line.
func (s *Sale) applyDrawn() error {
	w := &s.window
	if w.phase != sale.PhaseScheduled {
		return fmt.Errorf("a draw in a sale that is %s", w.phase)
	}
	if s.line.len() > 0 {
		return fmt.Errorf("a draw with %d already in line", s.line.len())
	}
	w.entrants = w.pre.draw(s.accounts, w.keys)
	for _, r := range w.entrants {
		s.accounts.get(r).state = sale.Waiting
	}
	s.line.pushAll(w.entrants)
	w.pre = prequeue{}
	w.phase, w.drawn = sale.PhaseOpen, true
	return nil
}

// applyClosed ends the sale: nobody waits any more.
func (s *Sale) applyClosed() error {
	if s.window.phase != sale.PhaseOpen {
		return fmt.Errorf("a close in a sale that is %s", s.window.phase)
	}
	for r := s.line.pop(); r != 0; r = s.line.pop() {
		s.accounts.get(r).state = sale.None
	}
	s.window.phase = sale.PhaseClosed
	return nil
}

// Entrants returns the draw's entrants, sorted by id: the pre-queue while
// the sale is scheduled, the draw's once it is made.
func (s *Sale) Entrants() []string {
	var refs []ref
	if s.window.phase == sale.PhaseScheduled {
		refs = s.window.pre.members()
	} else {
		refs = s.window.entrants
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = s.accounts.id(r)
	}
	slices.Sort(ids)
	return ids
}
