package rules

import (
	"fmt"

	"github.com/flashsale/flashsale/internal/sale"
)

// Apply replays one committed event, as a durable store does at start and
// as a server catching up on other servers' changes does. It refuses an
// event that does not follow from the state (a gap in Seq, a promotion of
// someone who is not the head of the line, a hold resolved twice), so a
// damaged log is reported, not silently turned into a different sale.
//
// Each event has its Seq one above the last applied, except a reset, which
// may follow any earlier Seq: it voids everything before it, so a log
// pruned up to its last reset replays from there.
func (s *Sale) Apply(e sale.Event) error {
	if len(s.pending) > 0 {
		return fmt.Errorf("apply event %d: %d decided events not taken yet", e.Seq, len(s.pending))
	}
	if err := s.apply(e); err != nil {
		return fmt.Errorf("apply event %d (%s): %w", e.Seq, e.Kind, err)
	}
	return nil
}

// apply makes the change e records. It is the only code that changes the
// sale's state; it decides nothing.
func (s *Sale) apply(e sale.Event) error {
	switch {
	case e.Kind == sale.EventReset && e.Seq > s.seq:
	case e.Seq != s.seq+1:
		return fmt.Errorf("sequence %d does not follow %d", e.Seq, s.seq)
	}
	switch e.Kind {
	case sale.EventReset:
		s.clear()
		s.began = e.Seq

	case sale.EventInitialized:
		if e.Total < s.held+s.confirmed || e.Total < 0 {
			return fmt.Errorf("total %d below held + confirmed = %d", e.Total, s.held+s.confirmed)
		}
		s.initialized, s.total = true, e.Total
		s.available = e.Total - s.held - s.confirmed

	case sale.EventGranted, sale.EventPromoted:
		if s.window.phase != sale.PhaseOpen {
			return fmt.Errorf("hold %s for %s in a sale that is %s", e.ReservationID, e.UserID, s.window.phase)
		}
		if s.available < 1 {
			return fmt.Errorf("hold %s for %s with no unit in stock", e.ReservationID, e.UserID)
		}
		if e.ReservationID == "" || s.holds[e.ReservationID] != nil {
			return fmt.Errorf("hold id %q is empty or taken", e.ReservationID)
		}
		if !e.ExpiresAt.After(e.At) {
			return fmt.Errorf("hold %s expires at %v, not after it is made at %v", e.ReservationID, e.ExpiresAt, e.At)
		}
		var r ref
		if e.Kind == sale.EventPromoted {
			if r = s.line.first(); r == 0 || s.accounts.id(r) != e.UserID {
				head := "nobody"
				if r != 0 {
					head = s.accounts.id(r)
				}
				return fmt.Errorf("%s promoted, but the head of the line is %s", e.UserID, head)
			}
			s.line.pop()
		} else {
			if r = s.accounts.find(e.UserID); r == 0 {
				r = s.accounts.add(e.UserID)
			} else if st := s.accounts.get(r).state; st != sale.None {
				return fmt.Errorf("hold for %s, who is %s", e.UserID, st)
			}
		}
		h := &hold{id: e.ReservationID, user: e.UserID, acct: r, status: sale.Held, createdAt: e.At, expiresAt: e.ExpiresAt}
		a := s.accounts.get(r)
		a.state, a.hold = sale.Holding, h
		s.holds[h.id] = h
		s.expiries.push(h)
		s.available--
		s.held++

	case sale.EventJoined:
		r := s.accounts.find(e.UserID)
		if r != 0 && s.accounts.get(r).state != sale.None {
			return fmt.Errorf("%s joins the line, but is %s", e.UserID, s.accounts.get(r).state)
		}
		if s.available > 0 || s.window.phase != sale.PhaseOpen {
			return fmt.Errorf("%s joins the line with %d units in stock in a sale that is %s", e.UserID, s.available, s.window.phase)
		}
		if pos := int64(s.line.len()) + 1; pos != e.Position {
			return fmt.Errorf("%s joins at %d, recorded as %d", e.UserID, pos, e.Position)
		}
		if r == 0 {
			r = s.accounts.add(e.UserID)
		}
		s.line.push(r)
		s.accounts.get(r).state = sale.Waiting

	case sale.EventLeft:
		r := s.accounts.find(e.UserID)
		switch {
		case r != 0 && s.accounts.get(r).state == sale.Waiting && e.Position > 0:
			s.line.remove(s.accounts.get(r).ticket)
		case r != 0 && s.accounts.get(r).state == sale.Queued && e.Position == 0:
			s.window.pre.remove(s.accounts, s.accounts.get(r).ticket)
		default:
			return fmt.Errorf("%s leaves a line they are not in", e.UserID)
		}
		s.accounts.get(r).state = sale.None

	case sale.EventScheduled:
		if err := s.applyScheduled(e); err != nil {
			return err
		}
	case sale.EventQueued:
		if err := s.applyQueued(e); err != nil {
			return err
		}
	case sale.EventDrawn:
		if err := s.applyDrawn(); err != nil {
			return err
		}
	case sale.EventClosed:
		if err := s.applyClosed(); err != nil {
			return err
		}

	case sale.EventConfirmed, sale.EventCancelled, sale.EventExpired:
		h := s.holds[e.ReservationID]
		if h == nil || h.status != sale.Held {
			return fmt.Errorf("hold %q is not held", e.ReservationID)
		}
		s.held--
		a := s.accounts.get(h.acct)
		switch e.Kind {
		case sale.EventConfirmed:
			h.status, a.state = sale.Confirmed, sale.Bought
			s.confirmed++
		case sale.EventCancelled:
			h.status, a.state = sale.Cancelled, sale.None
			s.available++ // released; the rules hand it to the line at once
		case sale.EventExpired:
			h.status, a.state = sale.Expired, sale.None
			s.available++
		}

	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	s.seq = e.Seq
	return nil
}
