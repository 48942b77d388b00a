package model_test

import (
	"context"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// advance makes what is due at now: the draw, the expiries before the
// close (as of their own time), the close, the other expiries.
func (n *naive) advance(now time.Time) int {
	if n.phase == sale.PhaseScheduled && !now.Before(n.opensAt) {
		order := sale.DrawOrder(n.seed, n.pre)
		if n.bug == drawInArrivalOrder {
			order = n.pre
		}
		at := n.opensAt
		if n.bug == drawDatedLate {
			at = now
		}
		n.entrants, n.line, n.pre = order, slices.Clone(order), nil
		n.phase, n.drawn = sale.PhaseOpen, true
		for n.available > 0 && len(n.line) > 0 {
			n.available--
			n.release(at)
		}
	}
	c := 0
	if n.phase == sale.PhaseOpen && !n.closesAt.IsZero() && !now.Before(n.closesAt) {
		for i := 0; i < len(n.order); i++ { // it grows as the line is served
			if h := n.order[i]; h.Status == sale.Held && h.ExpiresAt.Before(n.closesAt) {
				h.Status = sale.Expired
				n.release(h.ExpiresAt)
				c++
			}
		}
		if n.bug != offersAfterClose {
			n.line = nil
		}
		n.phase = sale.PhaseClosed
	}
	return c + n.expire(now)
}

// schedule is the window an initialize at now sets: a new sale's (fresh)
// opens when w says if that is ahead, or now; the times of one that goes
// on move only while ahead.
func (n *naive) schedule(now time.Time, fresh bool, w sale.Window) (opens, closes time.Time, err error) {
	if !fresh {
		opens, closes = n.opensAt, n.closesAt
	}
	if !w.OpensAt.IsZero() && !w.OpensAt.Equal(opens) {
		switch {
		case !fresh && n.phase != sale.PhaseScheduled && !w.OpensAt.After(now):
			// open since a time that passed, as asked: no change
		case !fresh && n.phase != sale.PhaseScheduled:
			return opens, closes, sale.ErrScheduleConflict
		case w.OpensAt.After(now):
			opens = w.OpensAt
		case !fresh:
			opens = now
		}
	}
	if !w.ClosesAt.IsZero() && !w.ClosesAt.Equal(closes) {
		if !fresh && n.phase == sale.PhaseClosed || !w.ClosesAt.After(now) {
			return opens, closes, sale.ErrScheduleConflict
		}
		closes = w.ClosesAt
	}
	if !opens.IsZero() && !closes.IsZero() && !closes.After(opens) {
		return opens, closes, sale.ErrScheduleConflict
	}
	return opens, closes, nil
}

func (n *naive) Entrants(context.Context) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.advance(n.clock.Now())
	if n.phase == sale.PhaseScheduled {
		return slices.Sorted(slices.Values(n.pre)), nil
	}
	return slices.Sorted(slices.Values(n.entrants)), nil
}
