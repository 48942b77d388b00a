// Command flashsale-load measures a flash sale server under a crowd and
// checks its books afterwards.
//
//	flashsale-load run --url http://127.0.0.1:8080 --token T --inventory 1000 --concurrency 64 --duration 10s
//	flashsale-load baseline --addr 127.0.0.1:0
//	flashsale-load compare --server-bin bin/flashsale --concurrency 64 --duration 10s
//	flashsale-load compare --server-bin bin/flashsale --sqlite --duration 10s
//	flashsale-load compare --server-bin bin/flashsale --postgres postgres://postgres@127.0.0.1:5432/test --postgres-servers 2
//	flashsale-load wrk --server-bin bin/flashsale --rounds 3 --duration 10s --connections 64 --threads 2
//	flashsale-load wrk --server-bin bin/flashsale --before-bin /tmp/flashsale-old
//	flashsale-load streams --server-bin bin/flashsale --streams 10000 --rounds 5
//
// run drives one running server; baseline serves the bare net/http handler
// the real server is measured against; compare starts both, one after the
// other, under identical load and prints the ratios; with --sqlite it runs
// the real server a second time on a fresh SQLite file and compares that
// with the memory store too; with --postgres DSN it runs it on a schema of
// its own in that database (dropped afterwards), with --postgres-servers N
// as N servers sharing the sale, the load spread over them. wrk measures
// the same two servers with wrk (https://github.com/wg/wrk, apt-get install
// wrk) instead of this generator: --rounds times each, alternating
// (baseline, flashsale, baseline, …), each run a fresh process and a fresh
// sale, and reports requests/s, p50, p99 and server CPU per request, the
// ratios per round and their median against the targets; with --before-bin
// an earlier build of the server runs in every round too, after the
// baseline and taking turns with the current one, for before and after
// figures from one run. Any book-keeping violation, and with wrk any answer
// but a 201 or a 202, exits non-zero. streams starts the real server with
// one unit held and --streams users in line, opens an event stream
// (GET /users/{id}/events) for each, and moves the line --rounds times,
// reporting the server's memory per open stream and how long each move
// takes to reach the last stream; a stream refused, or one that misses an
// event or gets a wrong one, exits non-zero.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "flashsale-load: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage:
  flashsale-load run      --url URL --token T [load flags]   drive a running server
  flashsale-load baseline [--addr A] [--admin-token T]       serve the baseline
  flashsale-load compare  --server-bin BIN [load flags] [--profile FILE] [--sqlite [--db-dir DIR]]
                          [--postgres DSN [--postgres-servers N]]
  flashsale-load wrk      --server-bin BIN [--before-bin BIN] [--rounds N] [--duration D] [--warmup D]
                          [--threads N] [--connections N] [--inventory N] [--wrk PATH]   the same two
                                                             (and an earlier build), measured by wrk
  flashsale-load streams  [--server-bin BIN] [--streams N] [--rounds N] [--server-flags "..."]
                                                             memory and fan-out delay of N event streams
load flags: --inventory N --concurrency N (--duration D | --requests N) [--warmup D] [--mix] [--max-time D]
flashsale-load <command> -h lists a command's flags.`

// run is main without the process: arguments in, report out, an error for
// anything that should exit non-zero.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stdout, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return runLoad(ctx, rest, getenv, stdout)
	case "baseline":
		return serveBaseline(ctx, rest, getenv, stdout)
	case "compare":
		return compare(ctx, rest, stdout)
	case "wrk":
		return compareWithWrk(ctx, rest, stdout)
	case "streams":
		return streamsCommand(ctx, rest, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q (want run, baseline, compare, wrk or streams)", cmd)
	}
}

// loadFlags adds the flags every load run takes.
func loadFlags(fs *flag.FlagSet, c *load.Config, warmup time.Duration) {
	fs.Int64Var(&c.Inventory, "inventory", 1000, "units the sale starts with")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent workers, one keep-alive connection each")
	fs.DurationVar(&c.Duration, "duration", 0, "run this long (default 10s when --requests is not set)")
	fs.Int64Var(&c.Requests, "requests", 0, "send this many new users instead of running for a duration")
	fs.DurationVar(&c.Warmup, "warmup", warmup, "run this long first, then start a fresh sale")
	fs.BoolVar(&c.Mix, "mix", false, "add confirms, cancels and repeat reservations")
	fs.DurationVar(&c.MaxTime, "max-time", 0, "abort a run that takes longer (default: duration + 30s, or 5m)")
}

// parse parses args into fs; -h prints the flags and stops the command.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return false, nil
}

func bounded(c *load.Config) {
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = 10 * time.Second
	}
}

func runLoad(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c load.Config
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&c.Token, "token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token (default $FLASHSALE_ADMIN_TOKEN)")
	loadFlags(fs, &c, 0)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	bounded(&c)
	res, err := load.Run(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== %s\n", c.URL)
	res.Print(stdout)
	return res.BooksErr()
}

func serveBaseline(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	token := fs.String("admin-token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token (default $FLASHSALE_ADMIN_TOKEN)")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if *token == "" {
		return errors.New("baseline: --admin-token (or FLASHSALE_ADMIN_TOKEN) is required")
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	return load.ServeBaseline(ctx, *addr, *token, log)
}

func compare(ctx context.Context, args []string, stdout io.Writer) error {
	cc := load.CompareConfig{Out: stdout}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.StringVar(&cc.ServerBin, "server-bin", "bin/flashsale", "the real server's binary")
	fs.StringVar(&cc.Self, "baseline-bin", "", "the binary serving the baseline (default: this one)")
	fs.StringVar(&cc.Profile, "profile", "", "write a CPU profile of the real server under load to this file (with --sqlite, the SQLite run's to FILE with .sqlite before its extension; with --postgres, each PostgreSQL server's with .postgres, .postgres-2, ...)")
	fs.BoolVar(&cc.SQLite, "sqlite", false, "also run the real server on a fresh SQLite file (--store sqlite --db DIR/flashsale-load-*/sale.db, removed after) and compare it with the memory store")
	fs.StringVar(&cc.DBDir, "db-dir", os.TempDir(), "the folder --sqlite makes its file in; commits wait for fsync, so put it on the disk you mean to measure, not a tmpfs")
	fs.StringVar(&cc.Postgres, "postgres", "", "also run the real server on PostgreSQL: the `DSN` of a server and database (postgres://USER@HOST:PORT/DB?sslmode=...) in which a schema flashsale_load_<random> is made for the run and dropped after it; compared with the memory store")
	fs.IntVar(&cc.PostgresServers, "postgres-servers", 1, "with --postgres: how many servers to start on that one schema, sharing the sale; the load's connections are spread over them round-robin")
	loadFlags(fs, &cc.Load, time.Second)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if err := postgresFlags(fs, cc); err != nil {
		return err
	}
	bounded(&cc.Load)
	if cc.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this executable to serve the baseline: %w", err)
		}
		cc.Self = self
	}
	_, err := load.Compare(ctx, cc)
	return err
}

func compareWithWrk(ctx context.Context, args []string, stdout io.Writer) error {
	wc := load.WrkConfig{Out: stdout}
	fs := flag.NewFlagSet("wrk", flag.ContinueOnError)
	fs.StringVar(&wc.ServerBin, "server-bin", "bin/flashsale", "the real server's binary")
	fs.StringVar(&wc.BeforeBin, "before-bin", "", "an earlier build of the real server (an older commit's), started with the same flags and measured in the same rounds as \"before\", the two builds taking turns after the baseline")
	fs.StringVar(&wc.Self, "baseline-bin", "", "the binary serving the baseline (default: this one)")
	fs.StringVar(&wc.Wrk, "wrk", "wrk", "the wrk binary, a path or a name on PATH")
	fs.IntVar(&wc.Rounds, "rounds", 3, "measure each server this many times, alternating baseline and flashsale")
	fs.DurationVar(&wc.Duration, "duration", 10*time.Second, "each measured run, whole seconds")
	fs.DurationVar(&wc.Warmup, "warmup", 2*time.Second, "a discarded wrk run before each measured one, whole seconds (0s: none)")
	fs.IntVar(&wc.Threads, "threads", 2, "wrk's threads (-t)")
	fs.IntVar(&wc.Connections, "connections", 64, "wrk's keep-alive connections (-c), shared by its threads")
	fs.Int64Var(&wc.Inventory, "inventory", 1000, "units each sale starts with")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	// Zero means "the default" to load.WrkConfig; on the command line it
	// is a mistake.
	if wc.Rounds < 1 || wc.Duration <= 0 || wc.Threads < 1 || wc.Connections < 1 {
		return fmt.Errorf("--rounds %d, --duration %s, --threads %d, --connections %d: want each above zero", wc.Rounds, wc.Duration, wc.Threads, wc.Connections)
	}
	if wc.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this executable to serve the baseline: %w", err)
		}
		wc.Self = self
	}
	_, err := load.WrkCompare(ctx, wc)
	return err
}

// postgresFlags refuses --postgres-servers without --postgres, or below 1.
func postgresFlags(fs *flag.FlagSet, cc load.CompareConfig) error {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "postgres-servers" })
	switch {
	case cc.PostgresServers < 1:
		return fmt.Errorf("--postgres-servers %d: want 1 or more", cc.PostgresServers)
	case set && cc.Postgres == "":
		return errors.New("--postgres-servers needs --postgres DSN, the database the servers share")
	}
	return nil
}
