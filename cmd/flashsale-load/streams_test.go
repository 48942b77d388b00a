package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

func TestSSEReaderFrames(t *testing.T) {
	long := strings.Repeat("x", 3*sseBufSize)
	in := "retry: 2000\n\n" +
		"id: 7\nevent: state\ndata: {\"a\":1}\n\n" +
		": heartbeat\n\n" +
		"id: 8\r\nevent: position\r\ndata: first\r\ndata: second\r\n\r\n" +
		"event: promoted\ndata:" + long + "\n\n" +
		"id: 9\nevent: cut"
	r := newSSEReader(strings.NewReader(in), sseBufSize)
	for _, want := range []sseEvent{
		{id: "7", name: "state", data: `{"a":1}`},
		{id: "8", name: "position", data: "first\nsecond"},
		{name: "promoted", data: long},
	} {
		got, err := r.next()
		if err != nil || got != want {
			t.Fatalf("next() = %+.60v, %v; want %+.60v", got, err, want)
		}
	}
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a stream cut mid-event: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(i + 1)
	}
	for p, want := range map[int]time.Duration{50: 100, 99: 198, 100: 200} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%d of 1..200 = %d, want %d", p, got, want)
		}
	}
	if got := percentile(ds[:1], 99); got != 1 {
		t.Errorf("p99 of one = %d, want it", got)
	}
}

func TestStreamsRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"streams", "-streams", "0"},
		{"streams", "-streams", "3", "-rounds", "4"},
		{"streams", "-pause", "400ms"},
		{"streams", "-timeout", "0s"},
		{"streams", "extra"},
	} {
		if err := run(context.Background(), args, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"streams", "-h"}, noEnv, &out); err != nil || !strings.Contains(out.String(), "-streams") {
		t.Errorf("streams -h = %v:\n%s", err, out.String())
	}
}

func TestStreamsFailsWhenServerCannotStart(t *testing.T) {
	err := run(context.Background(), []string{"streams", "-server-bin", filepath.Join(t.TempDir(), "missing"), "-streams", "2", "-rounds", "1"}, noEnv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "start server") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line saying the server did not start", err)
	}
}

// streamsRound is a round's row: number, streams moved, last, median, p99.
var streamsRound = regexp.MustCompile(`(?m)^ +(\d+) +(\d+) +(\d+\.\dms) +(\d+\.\dms) +(\d+\.\dms) `)

// TestStreamsBenchSmall runs the streams bench end to end against the real
// server, built from ./cmd/flashsale into a temporary folder: 200 streams,
// two moves of the line.
func TestStreamsBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the server and opens 200 event streams")
	}
	server := buildServer(t)
	var out bytes.Buffer
	err := run(t.Context(), []string{"streams", "-server-bin", server, "-streams", "200", "-rounds", "2"}, noEnv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"200 open in", "  RSS ", "  heap+stack ", "per stream", "\nmedian "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	rows := streamsRound.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 2 || rows[0][1] != "1" || rows[0][2] != "200" || rows[1][1] != "2" || rows[1][2] != "199" {
		t.Errorf("round rows %q, want round 1 moving 200 streams and round 2 moving 199:\n%s", rows, out.String())
	}
}

// selfServer stands in for the server process with this one, which never
// exits.
type selfServer struct{}

func (selfServer) CPU() (time.Duration, bool) { return load.ProcessCPU(os.Getpid()) }
func (selfServer) Explain(err error) error    { return err }

// TestRoundChecksEveryStream plays rounds against a stand-in that only
// answers the cancel, with the streams' events put in by hand: the right
// ones move the queue, and a wrong, missing or extra one fails the round.
func TestRoundChecksEveryStream(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/reservations/r0/cancel" {
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	var srv selfServer
	a := newAPI(api.URL, 1)
	defer a.close()
	newQueue := func() *queue {
		return &queue{users: []string{"s1", "s2"}, pos: []int64{2, 1}, holder: -1, holdID: "r0"}
	}
	event := func(i int, name, state string, pos int64, res string) arrival {
		ev := arrival{stream: i, at: time.Now(), name: name, state: userState{UserID: streamUser(i), State: state, WaitlistPosition: pos}}
		if res != "" {
			ev.state.Reservation = &reservationRef{ReservationID: res}
		}
		return ev
	}
	right := []arrival{event(1, evPromoted, "held", 0, "r1"), event(0, evPosition, "waiting", 1, "")}

	t.Run("right", func(t *testing.T) {
		q, arrivals := newQueue(), make(chan arrival, 4)
		for _, ev := range right {
			arrivals <- ev
		}
		r, err := playRound(t.Context(), a, srv, q, arrivals, 1, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r.moved != 2 || q.holder != 1 || q.holdID != "r1" || q.pos[0] != 1 || q.pos[1] != 0 {
			t.Errorf("moved %d, queue %+v; want 2 moved, s2 holding r1 and s1 at the head", r.moved, q)
		}
		arrivals <- event(0, evPosition, "waiting", 1, "")
		if err := quiet(t.Context(), srv, q, arrivals, 1, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "more than its one event") {
			t.Errorf("an extra event after the round: err = %v", err)
		}
	})
	for _, tc := range []struct {
		name   string
		events []arrival
		want   string
	}{
		{"missing", right[:1], "1 stream(s) missed their event within 50ms, among them user s1 (position 2)"},
		{"wrong position", []arrival{right[0], event(0, evPosition, "waiting", 2, "")}, "want state waiting at 1"},
		{"no reservation", []arrival{event(1, evPromoted, "held", 0, ""), right[1]}, "want state held and a reservation_id"},
		{"wrong name", []arrival{event(1, evPosition, "waiting", 0, "")}, `want "promoted"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrivals := make(chan arrival, 4)
			for _, ev := range tc.events {
				arrivals <- ev
			}
			_, err := playRound(t.Context(), a, srv, newQueue(), arrivals, 1, 50*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
