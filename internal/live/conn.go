package live

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// MaxPending bounds the bytes a served stream may have accepted but not yet
// written to its connection: a client that reads this far behind is
// dropped, as one whose write outlasts its deadline is.
const MaxPending = 32 << 10

// ErrNotPollable: the connection cannot be written without blocking (it is
// not a socket), so the writers cannot serve it.
var ErrNotPollable = errors.New("live: the connection offers no non-blocking write")

// Served is what a writer needs to serve a stream on its own connection.
type Served struct {
	// Conn is the client's connection, the response's headers already on
	// it: the writer owns it from Serve on and closes it.
	Conn net.Conn
	// Format appends a message as it goes on the wire.
	Format func(buf []byte, m Message) ([]byte, error)
	// Sent is told of each message handed to the connection.
	Sent func(event string)
	// WriteTimeout bounds how long bytes may wait for the client to read
	// them: pending bytes that do not drain within it end the stream.
	WriteTimeout time.Duration
}

// conn is one served stream. Its writer's goroutine alone touches it, but
// for queued, which the writer's mu guards.
type conn struct {
	Served
	s    *Stream
	w    *writer
	raw  syscall.RawConn
	gone bool // ended: its connection is closed and its place freed

	// token is its registration with the hub's hangups (0: none);
	// hungUp is set by the hangups' goroutine when the client left.
	token  uint64
	hungUp atomic.Bool

	// pending is what the client has not yet read of the messages made,
	// written as soon as the socket takes more; since when it has waited.
	pending []byte
	since   time.Time

	at     int       // index in the writer's due heap; -1 when not in it
	due    time.Time // the stream's Due when last scheduled
	queued bool      // in the writer's ready list (writer.mu)
}

func newConn(s *Stream, sv Served) (*conn, error) {
	sc, ok := sv.Conn.(syscall.Conn)
	if !ok || !pollable {
		return nil, ErrNotPollable
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPollable, err)
	}
	return &conn{Served: sv, s: s, raw: raw, at: -1}, nil
}

// send writes b, or as much of it as the socket takes now, and keeps the
// rest pending. It reports false when the stream must end: the client is
// gone, or further behind than MaxPending.
func (c *conn) send(b []byte, now time.Time) bool {
	if len(c.pending) > 0 {
		if len(c.pending)+len(b) > MaxPending {
			return false
		}
		c.pending = append(c.pending, b...)
		return c.flush(now)
	}
	n, err := writeNow(c.raw, b)
	if err != nil {
		return false
	}
	if n < len(b) {
		// A copy: b is the writer's buffer, reused for the next stream.
		c.pending = append(make([]byte, 0, len(b)-n), b[n:]...)
		c.since = now
	}
	return true
}

// flush writes what it can of the pending bytes. It reports false when the
// stream must end: the client is gone, or its bytes waited past
// WriteTimeout.
func (c *conn) flush(now time.Time) bool {
	n, err := writeNow(c.raw, c.pending)
	if err != nil {
		return false
	}
	if n == len(c.pending) {
		c.pending = nil // a drained stream holds no buffer
		return true
	}
	c.pending = c.pending[n:]
	return now.Sub(c.since) < c.WriteTimeout
}

// alive reports whether the client has not closed the connection, without
// reading what it may have sent: nobody reads a served connection, so a
// client that left is otherwise found only by a write after the one its
// leaving lets through.
func (c *conn) alive() bool { return !peerClosed(c.raw) }
