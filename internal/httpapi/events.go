package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
)

// eventsOperation is GET /users/{user_id}/events, by its generated name.
const eventsOperation = "GetUserEvents"

const (
	// streamWriteTimeout bounds writing one event. The server's
	// WriteTimeout would end a stream that lasts longer than it, so each
	// write gets its own deadline instead: a client that stops reading is
	// dropped after this, and a client that reads is never cut.
	streamWriteTimeout = 10 * time.Second
	// streamRetry is how long EventSource waits before reconnecting.
	streamRetry = 2 * time.Second
	// streamsFullRetry is the Retry-After of a server with no room.
	streamsFullRetry = 5
)

func (h *handlers) GetUserEvents(ctx context.Context, req generated.GetUserEventsRequestObject) (generated.GetUserEventsResponseObject, error) {
	s, err := h.as(ctx).open(req.UserId)
	var first live.Message
	if err == nil {
		// The first read is made before answering, so that a store that
		// is down is a 503 with Retry-After, not a stream that ends at once.
		if first, err = s.Next(ctx); err != nil {
			s.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	head, _ := ctx.Value(headRequest{}).(bool)
	return eventStream{ctx: ctx, hub: h.live, stream: s, first: first, head: head, log: h.log, sent: h.eventsSent}, nil
}

// eventStream is the 200 answer: it writes the stream's messages as
// Server-Sent Events until the client leaves or the server shuts down.
// Being the response object, it is written after the handler returns, as
// every strict response is, by the same goroutine.
type eventStream struct {
	ctx    context.Context
	hub    *live.Hub
	stream *live.Stream
	first  live.Message // the state, read before answering
	head   bool
	log    *slog.Logger
	sent   func(event string)
}

// VisitGetUserEventsResponse writes the headers and the first state, then
// hands the connection to the hub's writers (handOff) and returns, so that
// an open stream keeps no goroutine and no buffer of net/http's. Where the
// connection cannot be taken (HTTP/2, a test's recorder) this goroutine
// writes the stream itself, as every stream was written before.
func (e eventStream) VisitGetUserEventsResponse(w http.ResponseWriter) error {
	handedOff := false
	defer func() {
		if !handedOff {
			e.stream.Close()
		}
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy that buffers would hold every event back
	if !e.head {
		// No chunked framing: the body ends when the connection closes,
		// so that a writer that took the connection writes events as they
		// are (net/http's own setup for Server-Sent Events).
		w.Header().Set("Transfer-Encoding", "identity")
	}
	w.WriteHeader(http.StatusOK)
	if e.head {
		return nil
	}
	// The server's ReadTimeout needs nothing here: net/http clears the
	// read deadline once the request is read, for the background read
	// that notices the client leaving (cmd/flashsale's stream test).
	rw := responseSink{w: w, rc: http.NewResponseController(w)}
	buf := fmt.Appendf(nil, "retry: %d\n\n", streamRetry.Milliseconds())
	if !e.write(rw, buf, e.first) {
		return nil
	}
	conn, ok := e.handOff(rw.rc)
	if !ok {
		e.serve(rw)
		return nil
	}
	if conn == nil {
		handedOff = true
		return nil
	}
	defer conn.Close()
	e.serve(connSink{conn})
	return nil
}

// serve writes the stream's messages after the first from this goroutine,
// until the stream or the connection ends.
func (e eventStream) serve(to sink) {
	var buf []byte
	for {
		m, err := e.stream.Next(e.ctx)
		if err != nil {
			// Each way a stream ends is the client's cue to reconnect,
			// and none is an error of the request: the answer was a
			// 200 from the first byte.
			if e.ctx.Err() == nil {
				e.hub.LogEnd(err)
			}
			return
		}
		if !e.write(to, buf[:0], m) {
			return
		}
	}
}

// write appends m to buf and writes it with its own deadline; false: the
// stream is over.
func (e eventStream) write(to sink, buf []byte, m live.Message) bool {
	buf, err := appendMessage(buf, m)
	if err != nil {
		e.log.Error("event stream ended", "err", err) // a store's bug: see userShape
		return false
	}
	if err := to.write(buf, time.Now().Add(streamWriteTimeout)); err != nil {
		return false // gone, or too slow to read
	}
	e.sent(m.Event)
	return true
}

// appendMessage appends m in the event-stream format: an id, an event name
// and one data line of the user's state as GET /users/{user_id} answers
// it, or a comment for a heartbeat.
func appendMessage(buf []byte, m live.Message) ([]byte, error) {
	if m.Event == "" {
		return append(buf, ": heartbeat\n\n"...), nil
	}
	shape, err := userShape(m.State, m.Wait)
	if err != nil {
		return buf, err
	}
	data, err := json.Marshal(shape)
	if err != nil {
		return buf, fmt.Errorf("encode user %s: %w", m.State.UserID, err)
	}
	buf = append(buf, "id: "...)
	buf = strconv.AppendUint(buf, m.ID, 10)
	buf = append(buf, "\nevent: "...)
	buf = append(buf, m.Event...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	return append(buf, "\n\n"...), nil
}
