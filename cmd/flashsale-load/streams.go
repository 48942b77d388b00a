package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

// streamsConfig is the streams command's flags.
type streamsConfig struct {
	serverBin   string
	serverFlags string
	adminToken  string
	streams     int
	rounds      int
	workers     int
	timeout     time.Duration
	pause       time.Duration
}

// coalesceWindow is the server's spacing of position events on one stream;
// rounds closer than this would measure the coalescing, not the fan-out.
const coalesceWindow = 500 * time.Millisecond

func streamsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	var c streamsConfig
	fs := flag.NewFlagSet("streams", flag.ContinueOnError)
	fs.StringVar(&c.serverBin, "server-bin", "bin/flashsale", "the server's binary, started on a free loopback port")
	fs.StringVar(&c.serverFlags, "server-flags", "", "more flags for the server, space-separated, after the bench's own (a later flag wins)")
	fs.StringVar(&c.adminToken, "admin-token", "streams-bench", "the admin token the server is started with")
	fs.IntVar(&c.streams, "streams", 10000, "users in line, each with one open event stream")
	fs.IntVar(&c.rounds, "rounds", 5, "times the line moves by one (a cancel of the hold); at most -streams")
	fs.IntVar(&c.workers, "concurrency", 64, "reservations, and stream openings, in flight at once")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long every stream has to get its event, in a round or when it opens")
	fs.DurationVar(&c.pause, "pause", 700*time.Millisecond, "quiet time after each round, in which no stream may get an event; above the server's 500ms coalescing window")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	switch {
	case c.streams < 1 || c.rounds < 1 || c.workers < 1:
		return fmt.Errorf("-streams %d, -rounds %d, -concurrency %d: want each above zero", c.streams, c.rounds, c.workers)
	case c.rounds > c.streams:
		return fmt.Errorf("-rounds %d above -streams %d: each round promotes one waiting user", c.rounds, c.streams)
	case c.timeout <= 0:
		return fmt.Errorf("-timeout %s: want above zero", c.timeout)
	case c.pause <= coalesceWindow:
		return fmt.Errorf("-pause %s: want above the server's %s coalescing window, or a round's position event would wait for it", c.pause, coalesceWindow)
	}
	return runStreams(ctx, c, stdout)
}

// serverArgs are the server's flags: the memory store, one unit, no rate
// limit (every waiting user reserves once, from one address), room for
// every stream and a few more, and a quiet log.
func (c streamsConfig) serverArgs() []string {
	args := []string{"--store", "memory", "--admin-token", c.adminToken, "--inventory", "1", "--rate-limit", "0",
		"--max-streams", strconv.Itoa(c.streams + 100), "--log-level", "warn"}
	return append(args, strings.Fields(c.serverFlags)...)
}

// runStreams is the whole measurement: the line, the memory before, the
// streams, the memory after, the rounds; then the report.
func runStreams(ctx context.Context, c streamsConfig, stdout io.Writer) (err error) {
	rep := streamsReport{cfg: c, started: time.Now()}
	// The bench quiets the server to --log-level warn, so it does not log
	// its address: the port is picked for it.
	srv, err := load.StartChildOnFreePort(ctx, "server", c.serverBin, c.serverArgs())
	if err != nil {
		return err
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
	rep.printHeader(stdout)

	a := newAPI(srv.URL(), c.workers)
	defer a.close()
	t := time.Now()
	holdID, positions, err := formLine(ctx, a, c.streams, c.workers)
	if err != nil {
		return srv.Explain(fmt.Errorf("form the line: %w", err))
	}
	rep.lineTook = time.Since(t)
	fmt.Fprintf(stdout, "line       %s holds the one unit; %d users joined the line in %s, %d at a time\n",
		holderUser, c.streams, rep.lineTook.Round(time.Millisecond), c.workers)

	if rep.before, err = sampleMemory(ctx, a.hc, srv); err != nil {
		return srv.Explain(err)
	}
	arrivals := make(chan arrival, 2*c.streams+16)
	streams = make([]*sseStream, c.streams)
	t = time.Now()
	if err := openAll(ctx, srv, streams, positions, arrivals, c); err != nil {
		return err
	}
	rep.openTook = time.Since(t)
	fmt.Fprintf(stdout, "streams    %d open in %s, %d opening at a time; each got its state event with its position\n",
		c.streams, rep.openTook.Round(time.Millisecond), c.workers)
	if rep.after, err = sampleMemory(ctx, a.hc, srv); err != nil {
		return srv.Explain(err)
	}

	q := &queue{users: make([]string, c.streams), pos: positions, holder: -1, holdID: holdID}
	for i := range q.users {
		q.users[i] = streamUser(i)
	}
	cpu0, ok0 := srv.CPU()
	self0, selfOK0 := load.ProcessCPU(os.Getpid())
	for n := 1; n <= c.rounds; n++ {
		r, err := playRound(ctx, a, srv, q, arrivals, n, c.timeout)
		if err != nil {
			return err
		}
		rep.rounds = append(rep.rounds, r)
		if err := quiet(ctx, srv, q, arrivals, n, c.pause); err != nil {
			return err
		}
	}
	cpu1, ok1 := srv.CPU()
	self1, selfOK1 := load.ProcessCPU(os.Getpid())
	rep.roundsCPU, rep.roundsCPUOK = cpu1-cpu0, ok0 && ok1
	rep.benchCPU, rep.benchCPUOK = self1-self0, selfOK0 && selfOK1
	if rep.during, err = readMemory(ctx, a.hc, srv); err != nil {
		return srv.Explain(err)
	}
	rep.print(stdout)
	return nil
}

// openAll opens one stream per waiting user, c.workers at a time, and
// waits until each has had its state event, which must show the position
// its user joined at.
func openAll(ctx context.Context, srv *load.Child, streams []*sseStream, positions []int64, arrivals chan arrival, c streamsConfig) error {
	err := forEach(ctx, len(streams), c.workers, func(ctx context.Context, i int) error {
		s, err := openStream(ctx, srv.Addr(), i, streamUser(i), c.timeout)
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
	deadline := time.NewTimer(c.timeout)
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
			return srv.Explain(fmt.Errorf("%d of %d streams got no state event within %s of opening", remaining, len(streams), c.timeout))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
