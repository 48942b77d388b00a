package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// StreamsConfig is the event streams benchmark: the real server with one
// unit held and Streams users in line, an event stream (GET
// /users/{id}/events) open for each, and the line moved Rounds times. It
// is done here and not by wrk (see the package doc): each stream stays
// open, and each of its events is read and timed as it arrives.
type StreamsConfig struct {
	// ServerBin is the server's binary, started on a free loopback port.
	ServerBin string
	// BeforeBin, when set, is an earlier build to compare with: the whole
	// measurement runs Runs times for each binary, alternating, before
	// first, and a comparison of the medians ends the report.
	BeforeBin string
	// Runs is how many times each binary is measured when BeforeBin is
	// set; zero means 3.
	Runs int
	// ServerFlags are more flags for the server, space-separated, after
	// the bench's own (a later flag wins; --addr, on a free loopback port,
	// is always the bench's and comes last).
	ServerFlags string
	// AdminToken is the admin token the server is started with.
	AdminToken string
	// Streams is the users in line, each with one open event stream.
	Streams int
	// Rounds is how many times the line moves by one (a cancel of the
	// hold); at most Streams.
	Rounds int
	// Concurrency is the reservations, and stream openings, in flight at
	// once.
	Concurrency int
	// Timeout is how long every stream has to get its event, in a round or
	// when it opens.
	Timeout time.Duration
	// Pause is the quiet time after each round, in which no stream may get
	// an event; it must be above the server's coalescing window.
	Pause time.Duration
}

// coalesceWindow is the server's spacing of position events on one stream;
// rounds closer than this would measure the coalescing, not the fan-out.
const coalesceWindow = 500 * time.Millisecond

// Check says what is wrong with the configuration, nil when nothing is.
func (c StreamsConfig) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ServerBin == "" {
		bad("the server binary is required")
	}
	if c.AdminToken == "" {
		bad("an admin token is required")
	}
	switch {
	case c.Streams < 1 || c.Rounds < 1 || c.Concurrency < 1:
		bad("streams %d, rounds %d, concurrency %d: want each above zero", c.Streams, c.Rounds, c.Concurrency)
	case c.Rounds > c.Streams:
		bad("rounds %d above streams %d: each round promotes one waiting user", c.Rounds, c.Streams)
	}
	if c.Runs < 0 {
		bad("runs %d: want zero or above", c.Runs)
	}
	if c.Timeout <= 0 {
		bad("timeout %s: want above zero", c.Timeout)
	}
	if c.Pause <= coalesceWindow {
		bad("pause %s: want above the server's %s coalescing window, or a round's position event would wait for it", c.Pause, coalesceWindow)
	}
	return errors.Join(errs...)
}

// serverArgs are the server's flags: the memory store, one unit, no rate
// limit (every waiting user reserves once), no limit on new users per
// address (every one of the bench's shoppers is new and comes from this
// one loopback address, which the default limit would refuse after a few
// dozen), room for every stream and a few more, and a quiet log.
func (c StreamsConfig) serverArgs() []string {
	args := []string{"--store", "memory", "--admin-token", c.AdminToken, "--inventory", "1", "--rate-limit", "0",
		"--new-shopper-rate", "0", "--max-streams", strconv.Itoa(c.Streams + 100), "--log-level", "warn"}
	return append(args, strings.Fields(c.ServerFlags)...)
}

// Streams is the whole measurement: the line, the memory before, the
// streams, the memory after, the rounds; then the report, to out. A stream
// refused, or one that misses an event or gets a wrong one, is an error.
func Streams(ctx context.Context, c StreamsConfig, out io.Writer) error {
	if err := c.Check(); err != nil {
		return fmt.Errorf("streams config: %w", err)
	}
	if c.BeforeBin != "" {
		return compareStreams(ctx, c, out)
	}
	_, err := measureStreams(ctx, c, out)
	return err
}

// measureStreams is one measurement of c.ServerBin.
func measureStreams(ctx context.Context, c StreamsConfig, out io.Writer) (rep streamsReport, err error) {
	rep = streamsReport{cfg: c, started: time.Now()}
	srv, err := StartChildOnFreePort(ctx, "server", c.ServerBin, c.serverArgs())
	if err != nil {
		return rep, err
	}
	var streams []*sseStream
	defer func() {
		for _, s := range streams {
			if s != nil {
				s.close()
			}
		}
		if stopErr := srv.Stop(); err == nil {
			err = stopErr
		}
	}()
	rep.serverCmd = srv.CommandLine()
	rep.printHeader(out)

	a := newStreamsAPI(srv.URL(), c.Concurrency)
	defer a.close()
	t := time.Now()
	holdID, positions, err := formLine(ctx, a, c.Streams, c.Concurrency)
	if err != nil {
		return rep, srv.Explain(fmt.Errorf("form the line: %w", err))
	}
	rep.lineTook = time.Since(t)
	fmt.Fprintf(out, "line       %s holds the one unit; %d users joined the line in %s, %d at a time\n",
		holderUser, c.Streams, rep.lineTook.Round(time.Millisecond), c.Concurrency)

	if rep.before, err = sampleMemory(ctx, a.hc, srv); err != nil {
		return rep, srv.Explain(err)
	}
	arrivals := make(chan arrival, 2*c.Streams+16)
	streams = make([]*sseStream, c.Streams)
	t = time.Now()
	if err := openAll(ctx, a, srv, streams, positions, arrivals, c); err != nil {
		return rep, err
	}
	rep.openTook = time.Since(t)
	fmt.Fprintf(out, "streams    %d open in %s, %d opening at a time; each got its state event with its position\n",
		c.Streams, rep.openTook.Round(time.Millisecond), c.Concurrency)
	if rep.after, err = sampleMemory(ctx, a.hc, srv); err != nil {
		return rep, srv.Explain(err)
	}

	q := &queue{users: make([]string, c.Streams), pos: positions, holder: -1, holdID: holdID}
	for i := range q.users {
		q.users[i] = streamUser(i)
	}
	cpu0, ok0 := srv.CPU()
	self0, selfOK0 := ProcessCPU(os.Getpid())
	for n := 1; n <= c.Rounds; n++ {
		r, err := playRound(ctx, a, srv, q, arrivals, n, c.Timeout)
		if err != nil {
			return rep, err
		}
		rep.rounds = append(rep.rounds, r)
		if err := quiet(ctx, srv, q, arrivals, n, c.Pause); err != nil {
			return rep, err
		}
	}
	cpu1, ok1 := srv.CPU()
	self1, selfOK1 := ProcessCPU(os.Getpid())
	rep.roundsCPU, rep.roundsCPUOK = cpu1-cpu0, ok0 && ok1
	rep.benchCPU, rep.benchCPUOK = self1-self0, selfOK0 && selfOK1
	if rep.during, err = readMemory(ctx, a.hc, srv); err != nil {
		return rep, srv.Explain(err)
	}
	rep.print(out)
	return rep, nil
}

// openAll opens one stream per waiting user, with the token a kept for
// them, c.Concurrency at a time, and waits until each has had its state
// event, which must show the position its user joined at.
func openAll(ctx context.Context, a *streamsAPI, srv *Child, streams []*sseStream, positions []int64, arrivals chan arrival, c StreamsConfig) error {
	err := forEach(ctx, len(streams), c.Concurrency, func(ctx context.Context, i int) error {
		user := streamUser(i)
		s, err := openStream(ctx, srv.Addr(), i, user, a.token(user), c.Timeout)
		if err != nil {
			return err
		}
		streams[i] = s
		go s.read(arrivals)
		return nil
	})
	if err != nil {
		return srv.Explain(fmt.Errorf("open the streams: %w", err))
	}
	got := make([]bool, len(streams))
	deadline := time.NewTimer(c.Timeout)
	defer deadline.Stop()
	for remaining := len(streams); remaining > 0; remaining-- {
		select {
		case ev := <-arrivals:
			if ev.err != nil {
				return srv.Explain(ev.err)
			}
			user, st := streamUser(ev.stream), ev.state
			switch {
			case got[ev.stream]:
				return fmt.Errorf("user %s got a second event, %q, before the line moved", user, ev.name)
			case ev.name != "state" || st.UserID != user || st.State != "waiting" || st.WaitlistPosition != positions[ev.stream]:
				return fmt.Errorf("user %s's stream began with event %q for %q (state %s, waitlist_position %d), want state for a user waiting at %d",
					user, ev.name, st.UserID, st.State, st.WaitlistPosition, positions[ev.stream])
			}
			got[ev.stream] = true
		case <-deadline.C:
			return srv.Explain(fmt.Errorf("%d of %d streams got no state event within %s of opening", remaining, len(streams), c.Timeout))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
