package store

import (
	"sync"

	"github.com/flashsale/flashsale/internal/sale"
)

// feed keeps the newest committed events for consumers, and wakes them when
// more are committed. Events enter it only after their commit, in commit
// order (the writer adds them under the store lock), so a consumer can never
// hear of a change that a crash could undo.
type feed struct {
	mu   sync.Mutex
	ring []sale.Event  // the newest events, oldest first; it starts at a reset or after feedKeep
	last uint64        // the newest committed event's Seq
	more chan struct{} // closed and replaced whenever events are added
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (f *feed) add(events []sale.Event) {
	if len(events) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range events {
		if e.Kind == sale.EventReset {
			// Nothing before a reset matters to anyone: a consumer that
			// was behind starts at the reset and re-reads its state.
			clear(f.ring)
			f.ring = f.ring[:0]
		}
		f.ring = append(f.ring, e)
	}
	if len(f.ring) > 2*feedKeep {
		f.ring = append([]sale.Event(nil), f.ring[len(f.ring)-feedKeep:]...)
	}
	f.last = events[len(events)-1].Seq
	close(f.more)
	f.more = make(chan struct{})
}

// page returns up to limit kept events with Seq > after and the channel to
// wait on for more. ok is false when events after `after` are no longer
// kept here (or do not exist yet: after > last).
func (f *feed) page(after uint64, limit int) (events []sale.Event, more <-chan struct{}, last uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after == f.last {
		return nil, f.more, f.last, true
	}
	if after > f.last || len(f.ring) == 0 {
		return nil, nil, f.last, false
	}
	first := f.ring[0].Seq
	i := 0
	switch {
	case after >= first:
		i = int(after - first + 1)
	case after+1 == first, f.ring[0].Kind == sale.EventReset:
	default:
		return nil, nil, f.last, false
	}
	n := min(limit, len(f.ring)-i)
	events = append([]sale.Event(nil), f.ring[i:i+n]...)
	if events[n-1].Seq < f.last {
		return events, closedChan, f.last, true
	}
	return events, f.more, f.last, true
}
