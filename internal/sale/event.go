package sale

import (
	"context"
	"time"
)

// EventKind names one change to a sale. Every change a Store makes is one or
// more events, and the events are the whole story: replaying them from the
// last reset rebuilds the sale exactly, which is how durable backends
// restart and how several servers share one sale.
type EventKind string

const (
	// EventReset: a new sale started; everything before it is void.
	EventReset EventKind = "reset"
	// EventInitialized: the total became Total; units not held or
	// confirmed are in stock.
	EventInitialized EventKind = "initialized"
	// EventGranted: UserID got hold ReservationID on a unit from stock.
	EventGranted EventKind = "granted"
	// EventJoined: UserID joined the line at Position (its new length).
	EventJoined EventKind = "joined"
	// EventLeft: UserID left the line from Position; everyone behind moved
	// up one place.
	EventLeft EventKind = "left"
	// EventPromoted: UserID, the head of the line, got hold ReservationID
	// on a unit just released; everyone behind moved up one place.
	EventPromoted EventKind = "promoted"
	// EventConfirmed: hold ReservationID of UserID became a purchase.
	EventConfirmed EventKind = "confirmed"
	// EventCancelled: hold ReservationID of UserID was cancelled; its unit
	// is released.
	EventCancelled EventKind = "cancelled"
	// EventExpired: hold ReservationID of UserID expired; its unit is
	// released.
	EventExpired EventKind = "expired"
	// EventScheduled: the sale's window became OpensAt..ClosesAt (zero:
	// none), its draw made with Seed (secret until the draw). It comes
	// before the initialized event of a new sale.
	EventScheduled EventKind = "scheduled"
	// EventQueued: UserID joined the pre-queue of a scheduled sale.
	EventQueued EventKind = "queued"
	// EventDrawn: the sale opened. Everyone in the pre-queue is in the line
	// in drawn order (sale.DrawOrder); the promoted events that follow in
	// the same commit give the first of them holds.
	EventDrawn EventKind = "drawn"
	// EventClosed: the sale closed; nobody waits any more.
	EventClosed EventKind = "closed"
)

// EventKinds returns every kind of event, for tables that must cover
// them all.
func EventKinds() []EventKind {
	return []EventKind{
		EventReset, EventInitialized, EventGranted, EventJoined, EventLeft, EventPromoted,
		EventConfirmed, EventCancelled, EventExpired, EventScheduled, EventQueued, EventDrawn, EventClosed,
	}
}

// Event is one committed change. Seq numbers a sale's events one after
// another with no gap, across resets and restarts, so a consumer that
// remembers the last Seq it saw misses nothing when it comes back.
type Event struct {
	Seq           uint64
	Kind          EventKind
	At            time.Time // when it took effect
	UserID        string
	ReservationID string
	Position      int64     // joined: the place taken; left: the place left (0: the pre-queue)
	ExpiresAt     time.Time // granted, promoted: when the new hold expires
	Total         int64     // initialized
	OpensAt       time.Time // scheduled
	ClosesAt      time.Time // scheduled
	Seed          []byte    // scheduled
}

// Feed is a sale's committed events in commit order. An event is in the feed
// only once the change it records is durable, so nothing a consumer hears of
// can be undone by a crash.
type Feed interface {
	// Events returns up to limit events with Seq > after, oldest first,
	// without waiting, and a channel that is closed once an event newer than
	// the last one returned is committed. A consumer asking for events from
	// before the last reset starts at that reset. ErrEventsGone says the
	// events after `after` are no longer kept.
	Events(ctx context.Context, after uint64, limit int) ([]Event, <-chan struct{}, error)
	// Newest returns the Seq of the newest event committed so far: a
	// consumer that wants only what happens from now on starts after it.
	Newest(ctx context.Context) (uint64, error)
}

// Subscription delivers a feed's events to a channel, one goroutine per
// subscription.
type Subscription struct {
	c    chan Event
	done chan struct{}
	err  error
}

// Subscribe delivers every event with Seq > after to the subscription's
// channel in order, until ctx is done or the feed fails. The channel is
// closed then, and Err says why.
func Subscribe(ctx context.Context, f Feed, after uint64) *Subscription {
	s := &Subscription{c: make(chan Event, 64), done: make(chan struct{})}
	go func() {
		// done closes before c (defers run last first), so that a consumer
		// who sees c closed finds Err set: the other way round, it could
		// read nil in between.
		defer close(s.c)
		defer close(s.done)
		s.err = follow(ctx, f, after, func(e Event) error {
			select {
			case s.c <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return s
}

// C is where the events arrive.
func (s *Subscription) C() <-chan Event { return s.c }

// Err is why the subscription ended: the context's error or the feed's. It
// is nil while the subscription runs.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// feedPage is how many events a subscription reads at a time.
const feedPage = 256

func follow(ctx context.Context, f Feed, after uint64, fn func(Event) error) error {
	for {
		events, more, err := f.Events(ctx, after, feedPage)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(events) > 0 {
			continue
		}
		select {
		case <-more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
