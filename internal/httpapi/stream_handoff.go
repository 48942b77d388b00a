package httpapi

import (
	"net"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/internal/live"
)

// handOff takes the stream's connection from net/http and gives it, with
// the stream, to the hub's writers: net/http's goroutine, its background
// read and their buffers are then freed, and an open stream costs its
// socket and a few hundred bytes. It reports false when net/http cannot
// give the connection up (HTTP/2, a recorder), and returns the connection
// when it was taken but the writers cannot serve it (not a socket): either
// way the caller goes on writing the stream itself.
func (e eventStream) handOff(rc *http.ResponseController) (net.Conn, bool) {
	// The headers and the first event were flushed; the reader's buffer
	// holds at most what the client sent after its request, which an event
	// stream does not read, so both buffers are dropped.
	conn, _, err := rc.Hijack()
	if err != nil {
		return nil, false
	}
	err = e.hub.Serve(e.stream, live.Served{Conn: conn, Format: appendMessage, Sent: e.sent, WriteTimeout: streamWriteTimeout})
	if err != nil { // live.ErrNotPollable: the caller still owns both
		return conn, true
	}
	return nil, true
}

// sink is where the request's goroutine writes a stream: the response, or
// the connection it took.
type sink interface {
	// write writes b whole by deadline, or fails.
	write(b []byte, deadline time.Time) error
}

type responseSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (r responseSink) write(b []byte, deadline time.Time) error {
	_ = r.rc.SetWriteDeadline(deadline)
	if _, err := r.w.Write(b); err != nil {
		return err
	}
	return r.rc.Flush()
}

type connSink struct{ net.Conn }

func (c connSink) write(b []byte, deadline time.Time) error {
	_ = c.SetWriteDeadline(deadline)
	_, err := c.Write(b)
	return err
}
