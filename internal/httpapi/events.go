package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
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
	return eventStream{ctx: ctx, stream: s, first: first, head: head, log: h.log, sent: h.eventsSent}, nil
}

// eventStream is the 200 answer: it writes the stream's messages as
// Server-Sent Events until the client leaves or the server shuts down.
// Being the response object, it is written after the handler returns, as
// every strict response is, by the same goroutine.
type eventStream struct {
	ctx    context.Context
	stream *live.Stream
	first  live.Message // the state, read before answering
	head   bool
	log    *slog.Logger
	sent   func(event string)
}

func (e eventStream) VisitGetUserEventsResponse(w http.ResponseWriter) error {
	defer e.stream.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy that buffers would hold every event back
	w.WriteHeader(http.StatusOK)
	if e.head {
		return nil
	}
	// The server's ReadTimeout needs nothing here: net/http clears the
	// read deadline once the request is read, for the background read
	// that notices the client leaving (cmd/flashsale's stream test).
	rc := http.NewResponseController(w)
	buf := fmt.Appendf(nil, "retry: %d\n\n", streamRetry.Milliseconds())
	for m, err := e.first, error(nil); ; m, err = e.stream.Next(e.ctx) {
		if err != nil {
			// Each way a stream ends is the client's cue to reconnect,
			// and none is an error of the request: the answer was a
			// 200 from the first byte.
			switch {
			case errors.Is(err, live.ErrClosed) || e.ctx.Err() != nil:
			case errors.Is(err, sale.ErrUnavailable):
				// An outage, which the sweeper and /healthz report once:
				// not once for each of thousands of streams.
				e.log.Debug("event stream ended: the store is unavailable", "err", err)
			default:
				e.log.Warn("event stream ended", "err", err)
			}
			return nil
		}
		if buf, err = appendMessage(buf, m); err != nil {
			e.log.Error("event stream ended", "err", err) // a store's bug: see userShape
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(buf); err != nil {
			return nil // gone, or too slow to read
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		buf = buf[:0]
		e.sent(m.Event)
	}
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
