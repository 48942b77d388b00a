package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	id, name, data string
}

// sseReader splits a text/event-stream into events. Comment lines
// (": heartbeat") and retry: lines are skipped; a blank line ends an event,
// which is dispatched only if it had data, as EventSource does, so a lone
// "retry: 2000" block is not an event.
type sseReader struct {
	r    *bufio.Reader
	long []byte // a line longer than r's buffer, being put together
}

func newSSEReader(r io.Reader, size int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, size)}
}

func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for {
		line, err := s.line()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if hasData {
				ev.data = data.String()
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.id = string(value)
		case "event":
			ev.name = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		}
	}
}

// line is the next line without its end (\n or \r\n). It is only valid
// until the next call.
func (s *sseReader) line() ([]byte, error) {
	s.long = s.long[:0]
	for {
		b, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long, b...)
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // a stream never ends on its own
			}
			return nil, err
		}
		if len(s.long) > 0 {
			b = append(s.long, b...)
			s.long = b
		}
		b = bytes.TrimSuffix(b[:len(b)-1], []byte("\r"))
		return b, nil
	}
}

// userState is the part of an event's data the bench checks.
type userState struct {
	UserID           string          `json:"user_id"`
	State            string          `json:"state"`
	WaitlistPosition int64           `json:"waitlist_position"`
	Reservation      *reservationRef `json:"reservation"`
}

type reservationRef struct {
	ReservationID string `json:"reservation_id"`
}

func (u userState) reservationID() string {
	if u.Reservation == nil {
		return ""
	}
	return u.Reservation.ReservationID
}

// arrival is an event as one stream got it, stamped when its blank line was
// read and before its data was decoded, or the error that ended the stream.
type arrival struct {
	stream int
	at     time.Time
	name   string
	state  userState
	err    error
}

// sseStream is one user's open event stream: a raw TCP connection with a
// hand-written request, so that nothing between the socket and the bench
// (an HTTP client's pool, buffering or timeouts) hides or delays an event.
type sseStream struct {
	index  int
	user   string
	conn   net.Conn
	body   io.Reader
	closed atomic.Bool
}

// sseBufSize is the reader's buffer: an event's line is a few hundred bytes,
// and a longer one is put together from several reads.
const sseBufSize = 512

// openStream connects, asks for user's events with their shopper token and
// reads the response head; anything but a 200 text/event-stream is an error
// quoting the problem.
func openStream(ctx context.Context, addr string, index int, user, token string, timeout time.Duration) (*sseStream, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("stream for user %s: %w", user, err)
	}
	fail := func(err error) (*sseStream, error) {
		conn.Close()
		return nil, fmt.Errorf("stream for user %s: %w", user, err)
	}
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fail(err)
	}
	req := "GET /users/" + user + "/events HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\n" +
		"Authorization: Bearer " + token + "\r\nUser-Agent: flashsale-load streams\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fail(err)
	}
	// http.ReadResponse parses the head and undoes the chunked framing the
	// server puts around a body of unknown length.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, sseBufSize), nil)
	if err != nil {
		return fail(fmt.Errorf("read the response head: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fail(fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b)))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fail(fmt.Errorf("Content-Type %q, want text/event-stream", ct))
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return fail(err)
	}
	return &sseStream{index: index, user: user, conn: conn, body: resp.Body}, nil
}

// read sends every event the stream gets to out, and then the error that
// ended it unless the bench closed it on purpose.
func (s *sseStream) read(out chan<- arrival) {
	r := newSSEReader(s.body, sseBufSize)
	for {
		ev, err := r.next()
		at := time.Now()
		if err != nil {
			if !s.closed.Load() {
				out <- arrival{stream: s.index, at: at, err: fmt.Errorf("stream for user %s ended: %w", s.user, err)}
			}
			return
		}
		a := arrival{stream: s.index, at: at, name: ev.name}
		if err := json.Unmarshal([]byte(ev.data), &a.state); err != nil {
			a.err = fmt.Errorf("stream for user %s: event %q: data %.100q: %w", s.user, ev.name, ev.data, err)
		}
		out <- a
	}
}

func (s *sseStream) close() {
	s.closed.Store(true)
	s.conn.Close()
}
