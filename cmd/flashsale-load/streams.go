package main

import (
	"context"
	"io"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

func streamsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	var c load.StreamsConfig
	fs := newCommand("streams", "[flags]",
		"Starts the real server with one unit held and --streams users in line, opens an event stream\n"+
			"(GET /users/{id}/events) for each, and moves the line --rounds times, reporting the server's\n"+
			"memory per open stream and how long each move takes to reach the last stream. A stream refused,\n"+
			"or one that misses an event or gets a wrong one, exits 1.")
	fs.StringVar(&c.ServerBin, "server-bin", "bin/flashsale", "the server's binary, started on a free loopback port")
	fs.StringVar(&c.BeforeBin, "before-bin", "", "an earlier server binary to compare with: each binary is measured --runs times, alternating")
	fs.IntVar(&c.Runs, "runs", 3, "with --before-bin, the measurements of each binary")
	fs.StringVar(&c.ServerFlags, "server-flags", "", "more flags for the server, space-separated, after the bench's own (a later flag wins; --addr is always the bench's)")
	fs.StringVar(&c.AdminToken, "admin-token", "streams-bench", "the admin token the server is started with")
	fs.IntVar(&c.Streams, "streams", 10000, "users in line, each with one open event stream")
	fs.IntVar(&c.Rounds, "rounds", 5, "times the line moves by one (a cancel of the hold); at most --streams")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "reservations, and stream openings, in flight at once")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "how long every stream has to get its event, in a round or when it opens")
	fs.DurationVar(&c.Pause, "pause", 700*time.Millisecond, "quiet time after each round, in which no stream may get an event; above the server's 500ms coalescing window")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if err := fs.checked(c.Check()); err != nil {
		return err
	}
	return load.Streams(ctx, c, stdout)
}
