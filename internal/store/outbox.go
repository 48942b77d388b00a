package store

import (
	"context"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Outboxer is a Journal that keeps webhook cursors (sale.Outbox). It keeps
// a cursor for each endpoint of its sale.Config's Outbox from the moment it
// opens, and keeps the events before a reset until every endpoint leased
// within MaxAge has acknowledged them. Its methods are safe to call from any
// goroutine, concurrently with the writer.
//
// One that keeps the sale across a restart (SQLite, PostgreSQL) keeps the
// cursors too. At open, an endpoint it has no cursor for gets one after
// the newest event, hearing of what happens from then on, and one it knows
// resumes where it stopped; those it is not configured with are left as
// they are, their counts for an operator to read (or for another server
// that is configured with them), holding back no pruning once MaxAge has
// passed. A deliverer rebuilds its copy of the sale by replaying from the
// last reset at or before its cursor, so the journal keeps the events from
// B on, B being the newest reset at or before the lowest cursor of the
// endpoints seen (registered at open, leased or acknowledged) within
// MaxAge: 0, deleting nothing, when no reset is that old; the newest reset
// when no endpoint counts (none kept, or none seen since), which is the
// pruning of a journal without webhooks. journaltest.Outbox tests this.
type Outboxer interface {
	// ReadAll returns up to limit kept events with Seq > after, oldest
	// first, without skipping to the last reset.
	ReadAll(ctx context.Context, after uint64, limit int) ([]sale.Event, error)
	// Lease and Acknowledge are sale.Outbox's, at the instant now (a
	// journal shared by several servers judges leases by its own clock).
	Lease(ctx context.Context, endpoint, holder string, ttl time.Duration, now time.Time) (sale.Lease, error)
	Acknowledge(ctx context.Context, a sale.Ack, now time.Time) error
	// Endpoints is sale.Outbox's.
	Endpoints(ctx context.Context) ([]sale.Endpoint, error)
}

var _ sale.Outbox = (*Store)(nil)

func (s *Store) outboxer() (Outboxer, error) {
	if o, ok := s.journal.(Outboxer); ok && len(s.cfg.Outbox.Endpoints) > 0 {
		return o, nil
	}
	return nil, sale.ErrNoOutbox
}

// Pending implements sale.Outbox: from the feed while it still has the
// events, from the journal when they are older.
func (s *Store) Pending(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	o, err := s.outboxer()
	if err != nil {
		return nil, nil, err
	}
	if limit < 1 {
		return nil, nil, fmt.Errorf("pending events: %w: limit %d must be positive", sale.ErrInvalid, limit)
	}
	events, more, last, ok := s.feed.page(after, limit, false)
	if ok {
		return events, more, nil
	}
	if s.shared != nil && after > last {
		// Another server recorded a cursor past what this one has
		// followed so far (it took the lease over): catch up, look again.
		if err := s.barrier(ctx); err != nil {
			return nil, nil, err
		}
		if events, more, last, ok = s.feed.page(after, limit, false); ok {
			return events, more, nil
		}
	}
	if after > last {
		return nil, nil, fmt.Errorf("pending events after %d (the newest is %d): %w", after, last, sale.ErrEventsGone)
	}
	events, err = o.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read pending events after %d: %w", sale.ErrUnavailable, after, err)
	}
	if len(events) == 0 || events[len(events)-1].Seq < last {
		return events, closedChan, nil
	}
	// The journal's page reached the feed's newest: wait with the feed,
	// asking it again so that a commit since is not missed.
	_, more, _, _ = s.feed.page(events[len(events)-1].Seq, 1, false)
	if more == nil {
		more = closedChan
	}
	return events, more, nil
}

// Lease implements sale.Outbox.
func (s *Store) Lease(ctx context.Context, endpoint, holder string, ttl time.Duration) (sale.Lease, error) {
	o, err := s.outboxer()
	if err != nil {
		return sale.Lease{}, err
	}
	if ttl <= 0 || holder == "" {
		return sale.Lease{}, fmt.Errorf("lease %s: %w: holder %q for %v", endpoint, sale.ErrInvalid, holder, ttl)
	}
	defer s.ownedJournal()()
	l, err := o.Lease(ctx, endpoint, holder, ttl, s.clock.Now())
	if err != nil {
		return sale.Lease{}, fmt.Errorf("lease webhook endpoint %s: %w", endpoint, err)
	}
	return l, nil
}

// Acknowledge implements sale.Outbox.
func (s *Store) Acknowledge(ctx context.Context, a sale.Ack) error {
	o, err := s.outboxer()
	if err != nil {
		return err
	}
	defer s.ownedJournal()()
	if err := o.Acknowledge(ctx, a, s.clock.Now()); err != nil {
		return fmt.Errorf("acknowledge %s up to %d: %w", a.URL, a.Cursor, err)
	}
	return nil
}

// ownedJournal takes the store's lock when this process is its journal's
// only writer (SQLite), and returns what releases it. A lease or an ack is
// then a write that waits its turn between two batches, in this process,
// rather than one that takes the file's write lock from under the writer,
// whose next batch would find the file busy and poll for it (SQLite's busy
// handler sleeps milliseconds at a time): the sale comes first. A shared
// journal (PostgreSQL) writes a row no batch locks, and needs nothing.
func (s *Store) ownedJournal() (release func()) {
	if s.shared != nil {
		return func() {}
	}
	s.mu.Lock()
	return s.mu.Unlock
}

// Endpoints implements sale.Outbox.
func (s *Store) Endpoints(ctx context.Context) ([]sale.Endpoint, error) {
	o, err := s.outboxer()
	if err != nil {
		return nil, err
	}
	return o.Endpoints(ctx)
}
