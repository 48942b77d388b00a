// Command flashsale-load measures a flash sale server from outside, as its
// clients see it, and checks its books afterwards. It only parses flags;
// the work is internal/load's.
//
//	flashsale-load wrk --server-bin bin/flashsale --rounds 3 --duration 10s --connections 64 --threads 2
//	flashsale-load wrk --server-bin bin/flashsale --before-bin /tmp/flashsale-old
//	flashsale-load wrk --server-bin bin/flashsale --dead-webhook
//	flashsale-load wrk --server-bin bin/flashsale --store sqlite --db-dir /var/tmp
//	flashsale-load wrk --server-bin bin/flashsale --store postgres --dsn postgres://postgres@127.0.0.1:5432/test --servers 2
//	flashsale-load books --url http://127.0.0.1:8080 --token T --inventory 1000 --requests 100000 --mix
//	flashsale-load streams --server-bin bin/flashsale --streams 10000 --rounds 5
//	flashsale-load baseline --addr 127.0.0.1:8081 --admin-token T
//	flashsale-load referee --addr 127.0.0.1:8082 --admin-token T
//
// wrk measures throughput with wrk (Debian's wrk): the real server against
// the correct hand-written referee and the bare net/http baseline, and with --store the real server on SQLite or
// PostgreSQL against it on the memory store, and with --dead-webhook the
// real server with a webhook endpoint that refuses every connection
// against it without one, in alternating rounds, each run a fresh process
// and a fresh sale, its books checked. books drives
// servers already running, sharing one sale, with requests whose ids (and
// shopper tokens) it keeps, and checks the books exactly; those servers
// are to be started with --new-shopper-rate 0, since every one of its
// users is new and comes from one address, as the commands that start
// servers themselves (wrk, streams) do. streams measures the server's memory
// per open event stream and how long a move of the line takes to reach the
// last one. baseline and referee serve the two handlers the real server is
// measured against. `flashsale-load COMMAND -h` lists a command's flags.
//
// A mistake on the command line exits 2 with one line saying what it is;
// books that do not balance, a failed request or a server that does not
// start exit 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/flashsale/flashsale/internal/cli"
)

func main() {
	// The referee and the baseline collect as the server does; the
	// commands that drive load are the lighter for it too.
	cli.SetServerGC()
	cli.Main("flashsale-load", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	})
}

const usage = `usage: flashsale-load COMMAND [flags]    (flashsale-load COMMAND -h lists its flags)

  wrk       throughput measured by wrk: the real server against the hand-written referee and the
            bare net/http baseline, and with --store sqlite or postgres the real server on that
            store against it on memory, with --dead-webhook against it with a webhook endpoint that
            refuses every connection, in alternating rounds, each run a fresh process and a fresh
            sale, the books checked
              flashsale-load wrk [--server-bin BIN] [--before-bin BIN] [--store memory|sqlite|postgres]
                  [--db-dir DIR] [--dsn DSN [--servers N]] [--dead-webhook] [--rounds N] [--duration D]
                  [--warmup D] [--threads N] [--connections N] [--inventory N] [--wrk PATH]
                  [--baseline-bin BIN]
  books     drive running servers sharing one sale with new users (with --mix, confirms, cancels
            and repeat reserves too), keeping every id, and check the books exactly
              flashsale-load books --url URL [--url URL ...] --token T [--inventory N] [--concurrency N]
                  [--duration D | --requests N] [--warmup D] [--mix] [--max-time D]
  streams   the server's memory per open event stream, and the delay until a move of the line
            reaches the last of N streams
              flashsale-load streams [--server-bin BIN] [--streams N] [--rounds N] [--concurrency N]
                  [--timeout D] [--pause D] [--admin-token T] [--server-flags "..."]
  baseline  serve the bare net/http handler the real server is measured against
              flashsale-load baseline --admin-token T [--addr HOST:PORT]
  referee   serve the correct hand-written server the real server is measured against (issue 28)
              flashsale-load referee --admin-token T [--addr HOST:PORT]

A mistake on the command line exits 2; books that do not balance, a failed request or a server
that does not start exit 1.`

// run is main without the process: arguments in, report out; nil exits 0,
// a cli.UsageError 2, any other error 1.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return cli.Usage(errors.New("no command given"))
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "wrk":
		return wrkCommand(ctx, rest, stdout)
	case "books":
		return booksCommand(ctx, rest, getenv, stdout)
	case "streams":
		return streamsCommand(ctx, rest, stdout)
	case "baseline":
		return baselineCommand(ctx, rest, getenv, stdout)
	case "referee":
		return refereeCommand(ctx, rest, getenv, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return cli.Usage(fmt.Errorf("unknown command %q (want wrk, books, streams, baseline or referee)", cmd))
	}
}

// command is one command's flags and what -h says about it.
type command struct {
	*flag.FlagSet
	synopsis, about string
}

func newCommand(name, synopsis, about string) command {
	return command{flag.NewFlagSet(name, flag.ContinueOnError), synopsis, about}
}

// parse parses args; -h prints the command's usage to stdout and says so
// (help), and any mistake is a cli.UsageError naming the command.
func (c command) parse(args []string, stdout io.Writer) (help bool, err error) {
	c.SetOutput(io.Discard)
	err = c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "usage: flashsale-load %s %s\n\n%s\n\nflags:\n", c.Name(), c.synopsis, c.about)
		c.SetOutput(stdout)
		c.PrintDefaults()
		return true, nil
	case err != nil:
		return false, cli.Usage(fmt.Errorf("%s: %w", c.Name(), err))
	case c.NArg() > 0:
		return false, cli.Usage(fmt.Errorf("%s: unexpected argument %q", c.Name(), c.Arg(0)))
	}
	return false, nil
}

// checked makes a configuration's mistake a cli.UsageError naming the command.
func (c command) checked(err error) error {
	if err != nil {
		return cli.Usage(fmt.Errorf("%s: %w", c.Name(), err))
	}
	return nil
}

// self is this executable, which serves the baseline and the referee.
func self() (string, error) {
	bin, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this executable to serve the baseline and the referee: %w", err)
	}
	return bin, nil
}
