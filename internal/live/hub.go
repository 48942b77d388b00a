// Package live tells shoppers where they stand as the line moves: one hub
// per server follows the sale's feed of committed events and wakes the
// streams its events concern, and estimates each waiting shopper's wait.
//
// Scale comes from what the hub does not do. It never computes anyone's
// position and never writes to a client: for an event about one user it
// wakes that user's streams, and for an event that moves the line (someone
// left it or was promoted from its head) it closes one shared channel that
// every waiting stream selects on. A stream then reads its user's state
// from the store, where the position is the user's ticket's rank in the
// line (O(log n)), and decides itself whether that is news. So one move
// costs the hub O(1), and each waiting stream one read, at most one every
// Coalesce. docs/design.md has the argument.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Limits and intervals, written once here.
const (
	// DefaultMaxStreams bounds the streams one server keeps open: each
	// holds a connection (a file descriptor).
	DefaultMaxStreams = 10000
	// DefaultMaxPerUser bounds one user's streams: a few tabs, not a
	// script opening thousands under one name.
	DefaultMaxPerUser = 4
	// Coalesce is the least time between two position events of one
	// stream: a line that moves a hundred times a second would otherwise
	// cost every waiting stream a hundred writes a second.
	Coalesce = 500 * time.Millisecond
	// Heartbeat is the longest a stream stays silent: proxies close
	// connections idle for longer (nginx's default is 60 s).
	Heartbeat = 15 * time.Second
	// refollowDelay is the pause before following the feed again after it
	// failed (the database down).
	refollowDelay = time.Second
)

var (
	// ErrFull: the server has MaxStreams open.
	ErrFull = errors.New("as many event streams are open as this server serves")
	// ErrUserFull: the user has MaxPerUser open.
	ErrUserFull = errors.New("this user has as many event streams open as one user may")
	// ErrClosed: the hub was closed (the server is shutting down).
	ErrClosed = errors.New("the server is shutting down")
)

// Config is what a hub needs.
type Config struct {
	Store sale.Store
	// Clock is the store's clock; nil means the system's.
	Clock sale.Clock
	// MaxStreams and MaxPerUser bound the open streams; zero means
	// DefaultMaxStreams and DefaultMaxPerUser.
	MaxStreams int
	MaxPerUser int
	// Logger gets the feed's failures; nil discards.
	Logger *slog.Logger
	// Writers is how many goroutines write the streams handed to Serve;
	// zero means one per processor (GOMAXPROCS).
	Writers int
}

// Hub follows one store's feed for every stream of one server.
type Hub struct {
	store      sale.Store
	clock      sale.Clock
	maxStreams int
	maxPerUser int
	log        *slog.Logger

	mu     sync.Mutex
	users  map[string][]*Stream
	open   int
	closed bool

	// moved is closed, and replaced, each time the line moves. Streams
	// load it without a lock: 10,000 of them wake on one close.
	moved atomic.Pointer[chan struct{}]

	refusedFull, refusedUser atomic.Uint64

	// heard is the newest event the hub has had from the feed, stored
	// before it wakes anyone for it: a stream woken reads a state that
	// includes it (asOfReader).
	heard atomic.Uint64

	wait rate

	// Only the following goroutine touches these.
	total       int64
	initialized bool

	// writers serve the streams handed to Serve; writersDone counts
	// those still running, so that Close returns once every connection
	// they held is closed.
	writers     []*writer
	nextWriter  atomic.Uint64
	writersDone sync.WaitGroup
	hangups     *hangups // nil where epoll is not

	done      chan struct{} // closed by Close: every stream ends
	stop      context.CancelFunc
	stopped   chan struct{}
	closeOnce sync.Once
}

// Start returns a hub following cfg.Store's feed from its newest event on.
// Close stops it.
func Start(cfg Config) (*Hub, error) {
	if cfg.Store == nil {
		return nil, errors.New("live: no store")
	}
	h := &Hub{
		store:      cfg.Store,
		clock:      cfg.Clock,
		maxStreams: cfg.MaxStreams,
		maxPerUser: cfg.MaxPerUser,
		log:        cfg.Logger,
		users:      make(map[string][]*Stream),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	if h.clock == nil {
		h.clock = sale.SystemClock{}
	}
	if h.maxStreams == 0 {
		h.maxStreams = DefaultMaxStreams
	}
	if h.maxPerUser == 0 {
		h.maxPerUser = DefaultMaxPerUser
	}
	writers := cfg.Writers
	if writers == 0 {
		writers = runtime.GOMAXPROCS(0)
	}
	if h.maxStreams < 1 || h.maxPerUser < 1 || writers < 1 {
		return nil, fmt.Errorf("live: stream limits %d per server and %d per user, and writers %d, must be at least 1", h.maxStreams, h.maxPerUser, writers)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	moved := make(chan struct{})
	h.moved.Store(&moved)
	h.wait.restart(h.clock.Now())
	// Where to start is read now, so that every event committed after
	// Start returns is followed.
	after, err := h.store.Newest(context.Background())
	if err != nil {
		return nil, fmt.Errorf("live: read the newest event: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go h.follow(ctx, after)
	if h.hangups, err = newHangups(); err != nil {
		h.hangups = nil
		h.log.Debug("live: clients that leave a served stream are found by its heartbeat", "err", err)
	}
	h.writers = make([]*writer, writers)
	h.writersDone.Add(writers)
	for i := range h.writers {
		h.writers[i] = newWriter(h)
		go h.writers[i].run(ctx)
	}
	return h, nil
}

// Close ends every stream and stops following the feed; streams opened
// afterwards get ErrClosed. Shutdown calls it, so that open streams, which
// never go idle, do not hold the server's shutdown up: their clients
// reconnect, to another server or to this one once it is back.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		close(h.done)
		h.stop()
		<-h.stopped
		h.writersDone.Wait()
		if h.hangups != nil {
			h.hangups.close()
		}
	})
}

// Stats is what the hub counts, for metrics.
type Stats struct {
	Open        int    // streams open now
	RefusedFull uint64 // streams refused with ErrFull
	RefusedUser uint64 // streams refused with ErrUserFull
}

// Stats returns the counts now.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	open := h.open
	h.mu.Unlock()
	return Stats{Open: open, RefusedFull: h.refusedFull.Load(), RefusedUser: h.refusedUser.Load()}
}

// follow applies the feed's events after `after` until ctx ends, starting
// over from the newest event whenever the feed fails (the database down,
// or this hub so far behind that the events it needs are gone). An outage
// is logged once when following fails and once when it works again, not
// every second in between.
func (h *Hub) follow(ctx context.Context, after uint64) {
	defer close(h.stopped)
	down := false
	for {
		err := h.followFrom(ctx, after, func() {
			if down {
				h.log.Info("live: following the sale's events again")
			}
			down = false
		})
		if ctx.Err() != nil {
			return
		}
		if !down {
			h.log.Warn("live: following the sale's events failed; trying again each second from the newest", "err", err)
		}
		down = true
		select {
		case <-ctx.Done():
			return
		case <-time.After(refollowDelay):
		}
		if newest, err := h.store.Newest(ctx); err == nil {
			after = newest
		} // else from the same place again
	}
}

// followFrom follows the feed after `after` until it fails; following
// says it has begun.
func (h *Hub) followFrom(ctx context.Context, after uint64, following func()) error {
	st, err := h.store.Status(ctx)
	if err != nil {
		return fmt.Errorf("read the sale's status: %w", err)
	}
	h.total, h.initialized = st.Total, st.Initialized
	following()
	// Whatever happened while the hub was not following, every stream
	// reads its state again and tells what changed.
	h.wakeAll()
	h.broadcast()

	sub := sale.Subscribe(ctx, h.store, after)
	for {
		e, ok := <-sub.C()
		if !ok {
			return sub.Err()
		}
		moved := h.apply(e)
		// Take what else has arrived before waking anyone: a batch of a
		// thousand departures is one move, not a thousand.
		for more := true; more; {
			select {
			case e, ok := <-sub.C():
				if !ok {
					more = false
					break
				}
				moved = h.apply(e) || moved
			default:
				more = false
			}
		}
		if moved {
			h.broadcast()
		}
	}
}

// apply wakes the streams e concerns and counts the units it brings to the
// line; it reports whether e moved the line.
func (h *Hub) apply(e sale.Event) (moved bool) {
	h.heard.Store(e.Seq)
	switch e.Kind {
	case sale.EventReset:
		h.total, h.initialized = 0, false
		h.wait.restart(e.At)
		h.wakeAll()
		return true
	case sale.EventInitialized:
		// The first stock of a sale goes to whoever comes; only stock
		// added to a running sale can reach people already in line.
		if h.initialized && e.Total > h.total {
			h.wait.add(e.At, e.Total-h.total)
		}
		h.total, h.initialized = e.Total, true
	case sale.EventExpired, sale.EventCancelled:
		h.wait.add(e.At, 1)
	case sale.EventScheduled, sale.EventDrawn, sale.EventClosed:
		// Everyone's standing changes at once: a draw places the whole
		// pre-queue, a close ends every place, a new opening moves every
		// countdown. Each stream reads its own state, as after a reset.
		h.wakeAll()
		return true
	}
	if e.UserID != "" {
		h.wake(e.UserID)
	}
	return e.Kind == sale.EventLeft || e.Kind == sale.EventPromoted
}

// broadcast wakes every waiting stream: the line moved.
func (h *Hub) broadcast() {
	next := make(chan struct{})
	close(*h.moved.Swap(&next))
}

func (h *Hub) movedNow() chan struct{} { return *h.moved.Load() }

// wake tells user's streams that something happened to the user.
func (h *Hub) wake(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.users[user] {
		s.wake()
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, streams := range h.users {
		for _, s := range streams {
			s.wake()
		}
	}
}

// Estimate is a waiting user's estimated wait.
type Estimate struct {
	Seconds int64
	Known   bool // false: no unit reached the line lately to tell a rate
}

// EstimatedWait is how long a user at position is likely to wait: position
// divided by the rate at which units reached the line over the last
// WaitWindow (holds that expired or were cancelled, stock added).
func (h *Hub) EstimatedWait(position int64) Estimate {
	perSecond := h.wait.perSecond(h.clock.Now())
	if perSecond <= 0 || position < 1 {
		return Estimate{}
	}
	secs := float64(position) / perSecond
	return Estimate{Seconds: int64(secs + 0.999), Known: true}
}
