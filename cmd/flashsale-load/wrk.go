package main

import (
	"context"
	"io"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

func wrkCommand(ctx context.Context, args []string, stdout io.Writer) error {
	var c load.WrkConfig
	fs := newCommand("wrk", "[flags]",
		"Measures throughput with wrk (apt-get install -y wrk): the real server against the correct\n"+
			"hand-written referee (issue 28's targets) and the bare net/http baseline (and an earlier build,\n"+
			"with --before-bin), and with --store sqlite or postgres the real server on that store against it\n"+
			"on the memory store, and with --dead-webhook the real server with a webhook endpoint that refuses\n"+
			"every connection against it without one, all in the same rounds: the baseline first, then the\n"+
			"others (the referee among them), starting one further along each round. Each run is a fresh\n"+
			"process and a fresh sale, its books checked after it; any failed request or unbalanced books exits 1.\n"+
			"Reports requests/s, p50, p99 and server CPU per request, the ratios per round and their median.")
	fs.StringVar(&c.ServerBin, "server-bin", "bin/flashsale", "the real server's binary")
	fs.StringVar(&c.BeforeBin, "before-bin", "", "an earlier build of the real server (an older commit's), measured on the memory store in the same rounds as \"before\"")
	fs.StringVar(&c.Self, "baseline-bin", "", "the `BIN` that serves the baseline and the referee when run as BIN baseline and BIN referee (default: this one)")
	fs.StringVar(&c.Store, "store", load.StoreMemory, "memory: the real server on the memory store only; sqlite or postgres: also on that store, against the memory store, in every round")
	fs.StringVar(&c.DBDir, "db-dir", "", "with --store sqlite: the folder in which each run makes a folder of its own for a fresh file, removed after it (default: the system's temporary folder). Commits wait for fsync: put it on the disk you mean to measure, not a tmpfs")
	fs.StringVar(&c.DSN, "dsn", "", "with --store postgres (required): a PostgreSQL server and database, postgres://USER@HOST:PORT/DB?sslmode=..., in which each run makes a schema flashsale_load_<random> for its servers and drops it afterwards")
	fs.IntVar(&c.Servers, "servers", 1, "with --store postgres: servers sharing the sale on the one schema, each loaded by a wrk process of its own, all at once, with --threads and --connections shared among them")
	fs.StringVar(&c.Wrk, "wrk", "wrk", "the wrk binary, a path or a name on PATH")
	fs.IntVar(&c.Rounds, "rounds", 3, "measure each server this many times, alternating")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "each measured run, whole seconds")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "a discarded wrk run before each measured one, on the same process, whole seconds (0s: none)")
	fs.IntVar(&c.Threads, "threads", 2, "wrk's threads (-t); with --servers N, in all, at least N")
	fs.IntVar(&c.Connections, "connections", 64, "wrk's keep-alive connections (-c), shared by its threads; with --servers N, in all")
	fs.Int64Var(&c.Inventory, "inventory", 1000, "units each sale starts with; every run sells out, then fills the line")
	fs.BoolVar(&c.DeadWebhook, "dead-webhook", false, "also run the real server on the memory store with a webhook endpoint that refuses every connection (a loopback port held and never listened on, a fresh whsec_ secret), in the same rounds, and compare it with the run without one; GET /webhooks must show the endpoint failing and nothing delivered")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if c.Self == "" {
		var err error
		if c.Self, err = self(); err != nil {
			return err
		}
	}
	c.Out = stdout
	if err := fs.checked(c.Check()); err != nil {
		return err
	}
	_, err := load.Wrk(ctx, c)
	return err
}
