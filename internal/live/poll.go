package live

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Poll is Next for a writer that serves many streams and so may wait on
// none: it returns the stream's next message if one is due now, and ok
// false if none is. A message is due when the hub woke the stream, when the
// line moved while the user waits in it, when a held-back position's
// Coalesce ended, or, as a heartbeat, after Heartbeat of silence. Due says
// when to poll again if nothing wakes the stream first. Errors are Next's.
func (s *Stream) Poll(ctx context.Context) (m Message, ok bool, err error) {
	if !s.started {
		s.started = true
		m, _, err := s.read(ctx, true)
		return m, err == nil, err
	}
	select {
	case <-s.hub.done:
		return Message{}, false, ErrClosed
	default:
	}
	due := false
	select {
	case <-s.woken:
		due = true
	default:
	}
	// s.moved was loaded before the last read; the hub swaps in a new
	// channel at each move before it closes the old one, so a different
	// channel now means a move that read may not show. (Identity, not
	// closedness: a poll between the swap and the close must not miss it.)
	if !due && s.last.State == sale.Waiting && !s.held && s.moved != s.hub.movedNow() {
		due = true
	}
	now := s.hub.clock.Now()
	if !due && s.held && !now.Before(s.nextPos) {
		due = true
	}
	if due {
		if m, ok, err := s.read(ctx, false); ok || err != nil {
			return m, ok, err
		}
	}
	if !now.Before(s.sentAt.Add(Heartbeat)) {
		s.sentAt = now
		return Message{}, true, nil
	}
	return Message{}, false, nil
}

// Due is the latest time, on the hub's clock, at which Poll should be
// called again when nothing wakes the stream: the end of a held-back
// position's Coalesce, or the heartbeat.
func (s *Stream) Due() time.Time {
	d := s.sentAt.Add(Heartbeat)
	if s.held && s.nextPos.Before(d) {
		d = s.nextPos
	}
	return d
}
