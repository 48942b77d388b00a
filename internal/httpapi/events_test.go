package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// sseEvent is one frame of an event stream; a comment has only comment set.
type sseEvent struct {
	id, event, data, retry string
	comment                string
}

// sseStream reads one GET /users/{id}/events as a client would.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	frames chan sseEvent
	cancel context.CancelFunc
}

// stream opens user's event stream with their token, unless header sets
// Authorization, and requires a 200 event stream. The validating client
// reads whole bodies, so this one is plain, and the token is set here.
func (h *harness) stream(user string, header ...string) *sseStream {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/users/"+user+"/events", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+h.token(user))
	}
	resp, err := http.DefaultClient.Do(req) // the checked client would time out a stream
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("events of %s: %d %s %s", user, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sseStream{t: h.t, resp: resp, frames: make(chan sseEvent, 64), cancel: cancel}
	go s.read()
	h.t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); s.resp.Body.Close() }

// read parses frames as EventSource does: field lines up to a blank line.
func (s *sseStream) read() {
	defer close(s.frames)
	r := bufio.NewReader(s.resp.Body)
	var f sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, ":") {
			f.comment = strings.TrimSpace(line[1:])
			continue
		}
		field, value, _ := strings.Cut(line, ": ")
		switch field {
		case "":
			if f != (sseEvent{}) {
				s.frames <- f
			}
			f = sseEvent{}
		case "id":
			f.id = value
		case "event":
			f.event = value
		case "data":
			f.data = value
		case "retry":
			f.retry = value
		}
	}
}

// next is the next frame, or a failure after a few seconds.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			s.t.Fatal("the stream ended")
		}
		return f
	case <-time.After(5 * time.Second):
		s.t.Fatal("no event in 5s")
	}
	return sseEvent{}
}

// expect reads the next event, past a first retry frame and heartbeats,
// checks its name, and returns its state, which must be a UserState as the
// document describes it: a generated.UserNone, UserWaiting, UserHeld or
// UserConfirmed.
func (s *sseStream) expect(event string) (sseEvent, any) {
	s.t.Helper()
	f := s.next()
	for f.comment != "" || (f.retry != "" && f.event == "") {
		f = s.next()
	}
	if f.event != event || f.id == "" {
		s.t.Fatalf("event %q id %q (%s), want %q with an id", f.event, f.id, f.data, event)
	}
	var raw any
	if err := json.Unmarshal([]byte(f.data), &raw); err != nil {
		s.t.Fatalf("data is not JSON: %v: %s", err, f.data)
	}
	spec, err := generated.GetSwagger()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := spec.Components.Schemas["UserState"].Value.VisitJSON(raw); err != nil {
		s.t.Fatalf("data is no UserState: %v: %s", err, f.data)
	}
	var u generated.UserState
	if err := json.Unmarshal([]byte(f.data), &u); err != nil {
		s.t.Fatal(err)
	}
	v, err := u.ValueByDiscriminator()
	if err != nil {
		s.t.Fatalf("%v: %s", err, f.data)
	}
	return f, v
}

func TestEventStreamTellsTheStateAtOnceThenEachChange(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	alice := h.hold("alice")
	h.reserve("bob")

	bob := h.stream("bob")
	if cc := bob.resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if f := bob.next(); f.retry != "2000" {
		t.Errorf("first frame %+v, want retry: 2000", f)
	}
	f, u := bob.expect("state")
	if u, ok := u.(generated.UserWaiting); !ok || u.WaitlistPosition != 1 {
		t.Fatalf("bob: %s", f.data)
	}
	// Waiting, with no unit released yet: the estimate is there, as null.
	if !strings.Contains(f.data, `"estimated_wait_seconds":null`) {
		t.Errorf("no null estimate in %s", f.data)
	}

	resp, err := h.client.CancelReservationWithResponse(h.ctx(), alice.ReservationId, nil)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("cancel: %v %s", err, resp.Body)
	}
	g, u := bob.expect("promoted")
	promoted, ok := u.(generated.UserHeld)
	if !ok || g.id <= f.id {
		t.Fatalf("promoted: %s (id %s after %s)", g.data, g.id, f.id)
	}
	if got := userAs[generated.UserHeld](h, "bob"); got.Reservation.ReservationId != promoted.Reservation.ReservationId {
		t.Fatalf("GET /users/bob after the event: %+v", got)
	}
}

// Every event is the whole state, so a client that reconnects with
// Last-Event-ID gets, at once, a state that includes what it missed.
func TestEventStreamResumesWithLastEventID(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	alice := h.hold("alice")
	h.reserve("bob")
	first := h.stream("bob")
	f, _ := first.expect("state")
	first.close()

	if _, err := h.client.CancelReservationWithResponse(h.ctx(), alice.ReservationId, nil); err != nil {
		t.Fatal(err)
	}
	again := h.stream("bob", "Last-Event-ID", f.id)
	g, u := again.expect("state")
	if _, ok := u.(generated.UserHeld); !ok || len(g.id) < len(f.id) || g.id <= f.id {
		t.Fatalf("after reconnecting from %s: %s %s", f.id, g.id, g.data)
	}

	resp, body := h.raw(http.MethodGet, "/users/bob/events", "", nil, "Last-Event-ID", "x1")
	wantProblem(t, resp.StatusCode, http.StatusBadRequest, body, "/problems/invalid-request")
}

func TestEventStreamHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	h.hold("carol")
	s := h.stream("carol")
	s.expect("state")
	deadline := time.Now().Add(5 * time.Second)
	for h.clock.Waiters() == 0 { // the stream's heartbeat timer
		if time.Now().After(deadline) {
			t.Fatal("the stream armed no heartbeat")
		}
		time.Sleep(time.Millisecond)
	}
	h.clock.Advance(live.Heartbeat)
	if f := s.next(); f.comment != "heartbeat" {
		t.Fatalf("got %+v, want a heartbeat comment", f)
	}
}

func TestEventStreamLimits(t *testing.T) {
	h := newHarness(t, func(o *testkit.Options) { o.API.MaxStreams, o.API.MaxStreamsPerUser = 2, 1 })
	h.initialize(1)
	h.hold("bob")
	for _, u := range []string{"carol", "dave"} {
		h.reserve(u) // in line
	}

	bob := h.stream("bob")
	bob.expect("state")
	resp, body := h.raw(http.MethodGet, "/users/bob/events", "", nil)
	wantProblem(t, resp.StatusCode, http.StatusTooManyRequests, body, "/problems/too-many-streams")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	h.stream("carol").expect("state")
	resp, body = h.raw(http.MethodGet, "/users/dave/events", "", nil)
	wantProblem(t, resp.StatusCode, http.StatusServiceUnavailable, body, "/problems/streams-full")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}

	// A client that leaves frees its place.
	bob.close()
	deadline := time.Now().Add(5 * time.Second)
	for h.openStreams() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open after bob left, want 1", h.openStreams())
		}
		time.Sleep(time.Millisecond)
	}
	h.stream("dave").expect("state")
}

// A stream is counted, but not timed: its duration is how long someone
// watched, and would read as the slowest request of all.
func TestEventStreamIsCountedNotTimed(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	h.hold("erin")
	s := h.stream("erin")
	s.expect("state")
	s.close()
	deadline := time.Now().Add(5 * time.Second)
	for h.openStreams() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream is still open")
		}
		time.Sleep(time.Millisecond)
	}
	resp, body := h.raw(http.MethodGet, "/metrics", "", nil)
	wantStatus(t, resp.StatusCode, http.StatusOK, body)
	const route = `route="/users/{user_id}/events"`
	var counted bool
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.Contains(line, route) {
			continue
		}
		if strings.HasPrefix(line, "flashsale_http_request_duration_seconds") {
			t.Errorf("the stream was timed: %s", line)
		}
		if strings.HasPrefix(line, "flashsale_http_requests_total") && strings.Contains(line, `code="200"`) {
			counted = true
		}
	}
	if !counted {
		t.Error("the stream was not counted in flashsale_http_requests_total")
	}
	if !strings.Contains(string(body), `flashsale_stream_events_total{event="state"} 1`) {
		t.Error("the state event was not counted")
	}
}

// HEAD answers the stream's headers and ends: there is no body to wait for.
func TestEventStreamHead(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	h.hold("frank")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, h.srv.URL+"/users/frank/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token("frank"))
	resp, err := http.DefaultClient.Do(req) // the checked client would time out a stream
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HEAD: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// unreadable is a store whose reads of users fail as a database that went
// down does.
type unreadable struct{ sale.Store }

func (unreadable) User(context.Context, string) (sale.UserState, error) {
	return sale.UserState{}, fmt.Errorf("%w: PostgreSQL does not answer", sale.ErrUnavailable)
}

// A stream whose first state cannot be read is a 503 with Retry-After,
// which EventSource's owner can act on, not a 200 that ends at once.
func TestEventStreamWhenTheStoreIsDown(t *testing.T) {
	h := newHarness(t, wrapped(func(s sale.Store) sale.Store { return unreadable{s} }))
	h.initialize(1)
	h.hold("gina") // a reserve reads no user: it is made
	resp, body := h.raw(http.MethodGet, "/users/gina/events", "", nil)
	wantProblem(t, resp.StatusCode, http.StatusServiceUnavailable, body, "/problems/unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if open := h.openStreams(); open != 0 {
		t.Errorf("%d streams left open", open)
	}
}
