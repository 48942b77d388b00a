package live

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// retryEvery is how often a writer tries again to write the bytes its
// slow clients have not taken yet. Only streams with pending bytes are
// tried, and only while they have some.
const retryEvery = 20 * time.Millisecond

// writer serves many streams from one goroutine: it polls each stream when
// the hub wakes it, when the line moves, or when its Due time comes, and
// writes what Poll gives without ever waiting on a client.
type writer struct {
	hub *Hub

	mu     sync.Mutex
	ready  []*conn // woken or new since the goroutine last looked
	closed bool
	signal chan struct{} // one slot: ready is not empty

	// The goroutine alone touches these.
	conns   map[*conn]struct{}
	due     dueHeap
	stalled map[*conn]struct{} // with pending bytes
	buf     []byte
}

func newWriter(h *Hub) *writer {
	return &writer{hub: h, signal: make(chan struct{}, 1), conns: make(map[*conn]struct{}), stalled: make(map[*conn]struct{})}
}

// Serve hands a stream, and the connection it is answered on, to one of
// the hub's writers, which writes its messages from now on, without a
// goroutine of its own, until the client leaves, falls behind by
// MaxPending or WriteTimeout, or the hub closes. The caller must not touch
// either again, except when Serve returns ErrNotPollable: then it still
// owns both.
func (h *Hub) Serve(s *Stream, sv Served) error {
	c, err := newConn(s, sv)
	if err != nil {
		return err
	}
	w := h.writers[h.nextWriter.Add(1)%uint64(len(h.writers))]
	c.w = w
	h.mu.Lock()
	s.onWake = func() { w.enqueue(c) }
	h.mu.Unlock()
	if h.hangups != nil {
		h.hangups.watch(c)
	}
	if !w.enqueue(c) {
		// The hub is closing and the writer has stopped: end it here, as
		// the writer would have, but for the writer's own records.
		c.gone = true
		if h.hangups != nil {
			h.hangups.unwatch(c)
		}
		_ = c.Conn.Close()
		s.Close()
	}
	return nil
}

// enqueue asks the goroutine to poll c. It never blocks, so the hub may
// call it under Hub.mu; it reports false once the writer has stopped.
func (w *writer) enqueue(c *conn) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	if !c.queued {
		c.queued = true
		w.ready = append(w.ready, c)
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
	return true
}

func (w *writer) take() []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	ready := w.ready
	w.ready = nil
	for _, c := range ready {
		c.queued = false
	}
	return ready
}

func (w *writer) run(ctx context.Context) {
	defer w.hub.writersDone.Done()
	clock := w.hub.clock
	var (
		timer <-chan time.Time // fires at armed, on the hub's clock
		armed time.Time
		retry <-chan time.Time // while some streams are stalled
		moved = w.hub.movedNow()
	)
	for {
		// The hub swaps in a new channel, then closes the old one, at each
		// move. A new channel since the last look means a move: every
		// stream is polled, and each that waits in line and was read
		// before the swap (Poll compares its channel with the hub's) reads
		// again. cur is loaded before these polls, and every read in them
		// loads cur or a newer channel, so a move after any of them swaps
		// cur out and closes it, waking the select below.
		if cur := w.hub.movedNow(); cur != moved {
			moved = cur
			for c := range w.conns {
				w.poll(ctx, c)
			}
		}
		for _, c := range w.take() {
			if c.gone {
				continue
			}
			w.conns[c] = struct{}{}
			w.poll(ctx, c)
		}
		now := clock.Now()
		for n := w.due.Len(); n > 0 && w.due.Len() > 0 && !w.due[0].due.After(now); n-- {
			w.poll(ctx, w.due[0])
		}
		if w.due.Len() > 0 {
			if next := w.due[0].due; timer == nil || next.Before(armed) {
				timer, armed = clock.After(next.Sub(now)), next
			}
		}
		if len(w.stalled) > 0 && retry == nil {
			retry = time.After(retryEvery)
		}
		select {
		case <-w.hub.done:
			w.closeAll()
			return
		case <-w.signal:
		case <-moved:
		case <-timer:
			timer = nil
		case <-retry:
			retry = nil
			w.retryStalled()
		}
	}
}

// poll writes c's next message, if one is due, and schedules its next
// poll.
func (w *writer) poll(ctx context.Context, c *conn) {
	if c.gone {
		return
	}
	if c.hungUp.Load() && !c.alive() {
		w.end(c)
		return
	}
	m, ok, err := c.s.Poll(ctx)
	if err != nil {
		w.hub.LogEnd(err)
		w.end(c)
		return
	}
	if ok {
		// A heartbeat is where a client that left without a reset is
		// found: its first write would succeed, and nobody reads.
		if m.Event == "" && !c.alive() {
			w.end(c)
			return
		}
		b, err := c.Format(w.buf[:0], m)
		if err != nil {
			w.hub.log.Error("event stream ended", "err", err) // a store's bug
			w.end(c)
			return
		}
		w.buf = b[:0]
		if !c.send(b, time.Now()) {
			w.end(c)
			return
		}
		if len(c.pending) > 0 {
			w.stalled[c] = struct{}{}
		}
		if c.Sent != nil {
			c.Sent(m.Event)
		}
	}
	w.schedule(c)
}

func (w *writer) schedule(c *conn) {
	d := c.s.Due()
	switch {
	case c.at < 0:
		c.due = d
		heap.Push(&w.due, c)
	case !d.Equal(c.due):
		c.due = d
		heap.Fix(&w.due, c.at)
	}
}

func (w *writer) retryStalled() {
	now := time.Now()
	for c := range w.stalled {
		switch {
		case !c.flush(now):
			w.end(c)
		case len(c.pending) == 0:
			delete(w.stalled, c)
		}
	}
}

// end closes c's connection and frees its stream's place.
func (w *writer) end(c *conn) {
	c.gone = true
	delete(w.conns, c)
	delete(w.stalled, c)
	if c.at >= 0 {
		heap.Remove(&w.due, c.at)
	}
	if h := w.hub.hangups; h != nil {
		h.unwatch(c)
	}
	_ = c.Conn.Close()
	c.s.Close()
}

// closeAll ends every stream, those handed over but not yet polled too:
// net/http no longer tracks these connections, so nobody else would.
func (w *writer) closeAll() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	for _, c := range w.take() {
		if !c.gone {
			w.conns[c] = struct{}{}
		}
	}
	for c := range w.conns {
		w.end(c)
	}
}

// LogEnd says why a stream ended, once and at the level it deserves.
func (h *Hub) LogEnd(err error) {
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
	case errors.Is(err, sale.ErrUnavailable):
		// An outage, which the sweeper and /healthz report once: not once
		// for each of thousands of streams.
		h.log.Debug("event stream ended: the store is unavailable", "err", err)
	default:
		h.log.Warn("event stream ended", "err", err)
	}
}

// dueHeap orders a writer's streams by when each is next due.
type dueHeap []*conn

func (q dueHeap) Len() int           { return len(q) }
func (q dueHeap) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].at, q[j].at = i, j
}
func (q *dueHeap) Push(x any) {
	c := x.(*conn)
	c.at = len(*q)
	*q = append(*q, c)
}
func (q *dueHeap) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.at = -1
	return c
}
