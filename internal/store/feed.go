package store

import (
	"sync"

	"github.com/flashsale/flashsale/internal/sale"
)

// feed keeps the newest committed events for consumers, and wakes them when
// more are committed. Events enter it only after their commit, in commit
// order (the writer adds them under the store lock), so a consumer can never
// hear of a change that a crash could undo.
//
// The events are kept in a circular buffer of keep: publishing one costs
// a copy into a slot, nothing more, however long the sale runs.
type feed struct {
	keep int // feedKeep, but for tests

	mu   sync.Mutex
	buf  []sale.Event // grows to keep, then wraps
	head int          // index in buf of the oldest kept event
	n    int          // events kept; they start at a reset or after keep
	last uint64       // the newest committed event's Seq
	// more is closed when events are added, if a consumer took it since the
	// last time; nil until someone waits, so a sale nobody follows pays no
	// channel per commit.
	more chan struct{}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// at returns the i-th kept event, 0 the oldest.
func (f *feed) at(i int) *sale.Event { return &f.buf[(f.head+i)%len(f.buf)] }

func (f *feed) add(events []sale.Event) {
	if len(events) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range events {
		switch {
		case e.Kind == sale.EventReset:
			// Nothing before a reset matters to anyone: a consumer that
			// was behind starts at the reset and re-reads its state.
			f.head, f.n = 0, 0
		case f.n > 0 && e.Seq != f.at(f.n-1).Seq+1:
			// The kept events must run without a gap for page to index
			// them; should one ever come, start over from here (those
			// behind read the journal).
			f.head, f.n = 0, 0
		}
		switch {
		case len(f.buf) < f.keep && f.head == 0 && f.n == len(f.buf):
			f.buf = append(f.buf, e)
			f.n++
		case f.n < len(f.buf):
			*f.at(f.n) = e
			f.n++
		default: // full: the oldest makes room
			f.buf[f.head] = e
			f.head = (f.head + 1) % len(f.buf)
		}
	}
	f.last = events[len(events)-1].Seq
	if f.more != nil {
		close(f.more)
		f.more = nil
	}
}

// wait returns the channel closed at the next add. f.mu is held.
func (f *feed) wait() chan struct{} {
	if f.more == nil {
		f.more = make(chan struct{})
	}
	return f.more
}

// page returns up to limit kept events with Seq > after and the channel to
// wait on for more. ok is false when events after `after` are no longer
// kept here (or do not exist yet: after > last). A consumer from before the
// oldest kept event, a reset, starts at that reset when skipToReset is set
// (a stream: nothing before a reset concerns it); otherwise (the outbox,
// which owes every event to its endpoints) it is not ok.
func (f *feed) page(after uint64, limit int, skipToReset bool) (events []sale.Event, more <-chan struct{}, last uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after == f.last {
		return nil, f.wait(), f.last, true
	}
	if after > f.last || f.n == 0 {
		return nil, nil, f.last, false
	}
	oldest := f.at(0)
	i := 0
	switch {
	case after >= oldest.Seq:
		i = int(after - oldest.Seq + 1)
	case after+1 == oldest.Seq, skipToReset && oldest.Kind == sale.EventReset:
	default:
		return nil, nil, f.last, false
	}
	n := min(limit, f.n-i)
	events = make([]sale.Event, n)
	for k := range events {
		events[k] = *f.at(i + k)
	}
	if events[n-1].Seq < f.last {
		return events, closedChan, f.last, true
	}
	return events, f.wait(), f.last, true
}

// newest is the newest committed event's Seq.
func (f *feed) newest() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
