package load

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
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

// selfServer stands in for the server process with this one, which never
// exits.
type selfServer struct{}

func (selfServer) CPU() (time.Duration, bool) { return ProcessCPU(os.Getpid()) }
func (selfServer) Explain(err error) error    { return err }

// TestRoundChecksEveryStream plays rounds against a stand-in that only
// answers the cancel, with the streams' events put in by hand: the right
// ones move the queue, and a wrong, missing or extra one fails the round.
func TestRoundChecksEveryStream(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/reservations/r0/cancel":
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer token-of-h0":
			// Only the holder may cancel their hold.
			http.Error(w, "not the holder's token: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	var srv selfServer
	a := newStreamsAPI(api.URL, 1)
	defer a.close()
	if err := a.keep(holderUser, new("token-of-h0")); err != nil {
		t.Fatal(err)
	}
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

func TestStreamsConfigChecked(t *testing.T) {
	good := StreamsConfig{ServerBin: "bin/flashsale", AdminToken: "t", Streams: 3, Rounds: 2, Concurrency: 2, Timeout: time.Second, Pause: 700 * time.Millisecond}
	if err := good.Check(); err != nil {
		t.Fatalf("a good configuration: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(*StreamsConfig)
		want string
	}{
		"no streams":    {func(c *StreamsConfig) { c.Streams = 0 }, "want each above zero"},
		"rounds over":   {func(c *StreamsConfig) { c.Rounds = 4 }, "rounds 4 above streams 3"},
		"short pause":   {func(c *StreamsConfig) { c.Pause = 400 * time.Millisecond }, "above the server's 500ms coalescing window"},
		"no timeout":    {func(c *StreamsConfig) { c.Timeout = 0 }, "timeout 0s"},
		"no server":     {func(c *StreamsConfig) { c.ServerBin = "" }, "server binary is required"},
		"no token":      {func(c *StreamsConfig) { c.AdminToken = "" }, "admin token is required"},
		"no concurrent": {func(c *StreamsConfig) { c.Concurrency = 0 }, "concurrency 0"},
	} {
		c := good
		tc.mod(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, tc.want)
		}
		if err := Streams(t.Context(), c, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Streams ran: err = %v", name, err)
		}
	}
}
