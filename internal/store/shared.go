package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/flashsale/flashsale/internal/sale"
)

// syncer runs catch-up rounds against a Shared journal, one at a time: each
// asks the journal for its head and applies what others committed up to it.
// Callers that arrive while a round runs share the next one, so a crowd of
// reads costs one query per round trip, not one each, and every caller gets
// a round that began after it arrived (which is what makes it a barrier).
type syncer struct {
	mu      sync.Mutex
	running bool
	next    *round // the round that starts when the current one ends

	stop    context.CancelFunc // ends the watch
	watched chan struct{}      // closed when the watch has returned
}

type round struct {
	done chan struct{}
	err  error
	// barrier: someone waits for this round to read the head afresh.
	// Otherwise it was asked for by the watch, which told the newest Seq
	// (known), and catching up to that needs no query for the head.
	barrier bool
	known   uint64
}

// barrier returns once the store has applied every event committed before
// it was called, so that a read answered from memory afterwards sees every
// change any server acknowledged before the read began.
func (s *Store) barrier(ctx context.Context) error {
	r := s.requestRound(0)
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestRound returns the round that will start next, starting the rounds'
// goroutine if none runs. known is the head the watch was told of; 0 asks
// for a round that reads the head itself.
func (s *Store) requestRound(known uint64) *round {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	r := s.sync.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		s.sync.next = r
	}
	if known == 0 {
		r.barrier = true
	}
	r.known = max(r.known, known)
	if !s.sync.running {
		s.sync.running = true
		go s.runRounds()
	}
	return r
}

func (s *Store) runRounds() {
	for {
		s.sync.mu.Lock()
		r := s.sync.next
		if r == nil {
			s.sync.running = false
			s.sync.mu.Unlock()
			return
		}
		s.sync.next = nil
		s.sync.mu.Unlock()

		s.stats.rounds.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		r.err = s.catchUp(ctx, r)
		cancel()
		close(r.done)
	}
}

// catchUp applies what others committed up to the journal's head now (or,
// for a round only the watch asked for, up to the head it was told of).
// Committed events never change (a reset only deletes those before it), so
// they are read without any lock on the journal, and applied under s.mu
// from where the state is: the writer may have applied some meanwhile.
func (s *Store) catchUp(ctx context.Context, r *round) error {
	head := r.known
	if r.barrier {
		var err error
		if head, err = s.shared.Head(ctx); err != nil {
			return unavailable("read the newest event's number", err)
		}
	}
	for {
		s.mu.Lock()
		from, stale := s.sale.Seq(), s.stale
		s.mu.Unlock()
		if stale != nil || from >= head {
			// A stale state is rebuilt by the writer before anything is
			// answered from it (read sends a stale store's reads there).
			return nil
		}
		events, err := s.journal.Read(ctx, from, replayPage)
		if err != nil {
			return unavailable(fmt.Sprintf("read events after %d", from), err)
		}
		if len(events) == 0 {
			return fmt.Errorf("%w: the journal's head is %d, but it has no event after %d", sale.ErrUnavailable, head, from)
		}
		s.mu.Lock()
		err = s.applyCommitted(events)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("%w: %w", sale.ErrUnavailable, err)
		}
	}
}

// applyCommitted applies the events the state does not have yet and
// publishes them. On an event that does not follow, the state is marked
// stale, to be rebuilt from the journal. s.mu is held.
func (s *Store) applyCommitted(events []sale.Event) error {
	i := 0
	for i < len(events) && events[i].Seq <= s.sale.Seq() {
		i++
	}
	fresh := events[i:]
	for k, e := range fresh {
		if err := s.sale.Apply(e); err != nil {
			s.stale = fmt.Errorf("catch up on others' commits: %w", err)
			s.feed.add(fresh[:k])
			return s.stale
		}
	}
	s.feed.add(fresh)
	s.stats.followed.Add(uint64(len(fresh)))
	return nil
}

// startWatch follows others' commits as they are made, so that the feed
// (and everything that follows it) hears of them without waiting for a
// read or a change of this server's own.
func (s *Store) startWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	s.sync.stop, s.sync.watched = cancel, make(chan struct{})
	go func() {
		defer close(s.sync.watched)
		s.shared.Watch(ctx, func(seq uint64) {
			if seq != 0 && seq <= s.feed.newest() {
				return // this server's own commit, or one already applied
			}
			s.requestRound(seq)
		})
	}()
}

func (s *Store) stopWatch() {
	if s.sync.stop != nil {
		s.sync.stop()
		<-s.sync.watched
	}
}

// Health reports whether the store can answer from committed state: nil
// for a store whose journal this process owns (a full disk stops changes,
// not reads); for a shared journal, whether a catch-up round succeeds now.
func (s *Store) Health(ctx context.Context) error {
	if s.shared == nil {
		return nil
	}
	return s.barrier(ctx)
}

// unavailable wraps err as sale.ErrUnavailable, once.
func unavailable(what string, err error) error {
	if errors.Is(err, sale.ErrUnavailable) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %w", sale.ErrUnavailable, what, err)
}
