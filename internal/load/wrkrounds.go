package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/generated"
)

// The stores the real server can be measured on. The memory store is
// measured in every comparison; a durable one, when asked for, beside it.
const (
	StoreMemory   = "memory"
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// WrkConfig is a comparison measured by wrk: the real server against the
// hand-written referee and the bare baseline handler, and, when Store asks
// for a durable store, the real server on it against the real server on
// the memory store, all in the same rounds.
type WrkConfig struct {
	// Self serves the baseline when run as `Self baseline --admin-token T
	// --addr 127.0.0.1:PORT` (flashsale-load), and the referee as `Self
	// referee` with the same flags.
	Self string
	// ServerBin is the real server, started with --admin-token, a rate
	// limit too high to trigger, no limit on new users per address and
	// --log-level info (serverFlags), and --addr 127.0.0.1:PORT.
	ServerBin string
	// BeforeBin, when set, is an earlier build of the real server, started
	// with the same flags on the memory store and measured in the same
	// rounds as "before": before and after from one run on one machine,
	// which two runs on different days could not give. A build from before
	// the limit on new users per address is started without
	// --new-shopper-rate, which it would refuse (and it has no such limit
	// to lift).
	BeforeBin string
	// Wrk is the wrk binary, a path or a name looked up on PATH (default
	// "wrk").
	Wrk string
	// Store is where the real server keeps the sale in one more run per
	// round, after the memory store's: StoreMemory (default: no such run),
	// StoreSQLite or StorePostgres.
	Store string
	// DBDir is where each SQLite run makes a folder of its own for its
	// file, removed after the run (default the system's temporary folder).
	// Durable commits wait for fsync, so the figures are the filesystem's
	// as much as the server's: a tmpfs would make them meaningless.
	DBDir string
	// DSN names the PostgreSQL server and database of StorePostgres: each
	// run makes a schema flashsale_load_<random> there, starts its servers
	// on it (the DSN with search_path set to it), and drops it afterwards,
	// whatever happens.
	DSN string
	// Servers is how many servers the PostgreSQL run starts on its one
	// schema, sharing the sale (default 1). Each gets a wrk process of its
	// own, all running at once, with Threads and Connections shared among
	// them; their figures are added up, and every server's GET /status
	// must agree after the run.
	Servers int
	// Rounds is how many times each server is measured, alternating (default
	// 3): the baseline first in each round, then the others (the referee
	// among them), starting one further along each round, so that none
	// always follows the baseline.
	// Alternating spreads whatever else the machine does over all of them.
	Rounds int
	// Duration is each measured run's length, whole seconds (default 10s);
	// Warmup the discarded run before it, whole seconds (0 for none).
	Duration, Warmup time.Duration
	// Threads and Connections are wrk's -t and -c (default 2 and 64): for
	// several servers, the totals over their wrk processes.
	Threads, Connections int
	// Inventory is the units each sale starts with (default 1000): every
	// run sells out and then fills the line.
	Inventory int64
	// DeadWebhook adds a run of the real server on the memory store with a
	// webhook endpoint that refuses every connection (--webhook-url to a
	// loopback port this process holds bound and never listens on,
	// --webhook-secret-file a fresh secret), measured in the same rounds
	// and compared with the real server without one: what a shop's dead
	// receiver costs the sale. After each such run, GET /webhooks must show
	// the endpoint tried, failing, and nothing delivered.
	DeadWebhook bool
	// Out gets the report, a round at a time.
	Out io.Writer

	// beforeUnlimited is set by Wrk when BeforeBin has no
	// --new-shopper-rate: a build from before shopper identity.
	beforeUnlimited bool
	// deadHook is DeadWebhook's endpoint and secret, set by Wrk.
	deadHook *deadHook
}

// defaults fills in what a caller of Wrk left zero.
func (c *WrkConfig) defaults() {
	if c.Wrk == "" {
		c.Wrk = "wrk"
	}
	if c.Store == "" {
		c.Store = StoreMemory
	}
	if c.Servers == 0 {
		c.Servers = 1
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Threads == 0 {
		c.Threads = 2
	}
	if c.Connections == 0 {
		c.Connections = 64
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
}

// Check says what is wrong with the configuration, nil when nothing is: a
// mistake of whoever wrote it, found before anything is started. It takes
// the values as they are (Wrk fills in defaults first), so a zero count is
// a mistake here.
func (c WrkConfig) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Self == "" || c.ServerBin == "" {
		bad("the baseline executable and the server binary are required")
	}
	switch c.Store {
	case StoreMemory, StoreSQLite:
	case StorePostgres:
		if c.DSN == "" {
			bad("store postgres needs the DSN of a PostgreSQL database to make its schemas in")
		} else if _, err := pgx.ParseConfig(c.DSN); err != nil {
			bad("the PostgreSQL DSN %s: %s", redactDSN(c.DSN), redactIn(err.Error(), c.DSN))
		}
	default:
		bad("store %q: want %s, %s or %s", c.Store, StoreMemory, StoreSQLite, StorePostgres)
	}
	if c.DSN != "" && c.Store != StorePostgres {
		bad("a PostgreSQL DSN is for store postgres, and the store is %s", c.Store)
	}
	if c.DBDir != "" && c.Store != StoreSQLite {
		bad("a folder for the database file is for store sqlite, and the store is %s", c.Store)
	}
	switch {
	case c.Servers < 1:
		bad("%d servers: want 1 or more", c.Servers)
	case c.Servers > 1 && c.Store != StorePostgres:
		bad("%d servers: servers share a sale only on store postgres, and the store is %s", c.Servers, c.Store)
	}
	if c.Rounds < 1 {
		bad("%d rounds: want 1 or more", c.Rounds)
	}
	// wrk counts in whole seconds and would round anything else.
	if c.Duration < time.Second || c.Duration%time.Second != 0 {
		bad("duration %s: want whole seconds, at least 1s", c.Duration)
	}
	if c.Warmup < 0 || c.Warmup%time.Second != 0 {
		bad("warm-up %s: want whole seconds (0 for none)", c.Warmup)
	}
	switch {
	case c.Threads < 1 || c.Connections < c.Threads:
		bad("%d threads and %d connections: wrk wants at least one thread and a connection per thread", c.Threads, c.Connections)
	case c.Threads < c.Servers:
		bad("%d threads for %d servers: each server gets a wrk process of its own, with at least one thread", c.Threads, c.Servers)
	}
	if c.Inventory < 0 {
		bad("inventory %d is negative", c.Inventory)
	}
	return errors.Join(errs...)
}

// Wrk measures the baseline, the referee and the real server (and
// BeforeBin's build, and the real server on a durable store, when asked)
// with wrk, Rounds times, alternating, each run on a fresh process and a
// fresh sale, and prints each round's figures and ratios once the round is
// over, and a summary. Any failed request or unbalanced books stops it with an error;
// the targets are reported only.
func Wrk(ctx context.Context, cfg WrkConfig) (WrkReport, error) {
	cfg.defaults()
	rep := WrkReport{Config: cfg}
	if err := cfg.Check(); err != nil {
		return rep, fmt.Errorf("wrk comparison: %w", err)
	}
	if cfg.BeforeBin != "" {
		cfg.beforeUnlimited = !knowsFlag(ctx, cfg.BeforeBin, newShopperRateFlag)
		rep.Config = cfg
	}
	dir, err := os.MkdirTemp("", "flashsale-wrk-")
	if err != nil {
		return rep, fmt.Errorf("wrk comparison: %w", err)
	}
	defer os.RemoveAll(dir)
	w, err := newWrk(cfg.Wrk, dir)
	if err != nil {
		return rep, err
	}
	if cfg.DeadWebhook {
		if cfg.deadHook, err = newDeadHook(ctx, dir); err != nil {
			return rep, err
		}
		defer cfg.deadHook.release()
		rep.Config = cfg
	}
	if cfg.Store == StorePostgres {
		// A database that cannot be reached, or where no schema can be
		// made, fails the comparison before the first round, not in it.
		s, err := createSchema(ctx, cfg.DSN)
		if err != nil {
			return rep, err
		}
		if err := s.drop(); err != nil {
			return rep, fmt.Errorf("drop %s: %w", s.where(), err)
		}
		rep.PostgresLocal = pgOnThisMachine(cfg.DSN)
	}
	rep.Machine = describeMachine(time.Now(), w.version(ctx))
	shown := *w
	shown.script = filepath.Base(w.script) // the temporary folder means nothing to a reader
	rep.WrkArgs = shown.args(wrkShare{cfg.Threads, cfg.Connections, "m"}, cfg.Duration, "URL")
	if cfg.Servers > 1 {
		for _, s := range splitWrk(cfg.Threads, cfg.Connections, cfg.Servers, "m") {
			rep.SplitArgs = append(rep.SplitArgs, shown.args(s, cfg.Duration, "URL"+strings.TrimSuffix(s.tag[1:], ".")))
		}
	}
	rep.printHeader(cfg.Out)

	token := rand.Text()
	for n := 1; n <= cfg.Rounds; n++ {
		printRoundHeader(cfg.Out, n, cfg.Rounds)
		round, err := measureWrkRound(ctx, cfg, w, token, n, rep.PostgresLocal)
		if err != nil {
			return rep, fmt.Errorf("round %d: %w", n, err)
		}
		round.printRows(cfg.Out, cfg.comparisons())
		rep.Rounds = append(rep.Rounds, round)
	}
	rep.printSummary(cfg.Out)
	return rep, nil
}

// wrkContender is one server (or several sharing a sale) measured in every
// round; name labels its rows.
type wrkContender struct {
	name    string
	bin     string
	args    []string // the baseline's or the referee's subcommand, or the real server's flags but the store's and the webhook's
	store   string   // StoreMemory, StoreSQLite or StorePostgres; "" for the baseline and the referee
	servers int
	// deadHook: started with WrkConfig.DeadWebhook's endpoint.
	deadHook bool
}

// serverFlags are the real server's flags besides its address, token and
// store, for every build, so that only the code differs: a rate limit per
// user out of reach, no limit on new users per client address (0), and
// logging at info. Every one of wrk's shoppers is new and comes from this
// one loopback address: the server's default of one new user a second per
// address would refuse nearly all of them.
const serverFlags = "--rate-limit 1000000 --rate-burst 1000000 " + newShopperRateFlag + " 0 --log-level info"

// unlimitedFlags are serverFlags for a build from before the limit on new
// users, which would not start with a flag it does not know.
const unlimitedFlags = "--rate-limit 1000000 --rate-burst 1000000 --log-level info"

const newShopperRateFlag = "--new-shopper-rate"

// baseline is the contender every other is measured against.
func (c WrkConfig) baseline() wrkContender {
	return wrkContender{name: "baseline", bin: c.Self, args: []string{"baseline"}, servers: 1}
}

// refereeName labels the referee's runs; wrkContender.referee.
const refereeName = "referee"

// referee is the correct hand-written server: a contender like the real
// server's runs, so that it takes its turn in the rotation rather than a
// fixed place beside the baseline, and the one issue 28's targets are
// against.
func (c WrkConfig) referee() wrkContender {
	return wrkContender{name: refereeName, bin: c.Self, args: []string{"referee"}, servers: 1}
}

// contenders are the runs after the baseline's, in the report's order: the
// referee, then the real server's: the earlier build first, as a reader
// expects before and after, then this build on the memory store, then with
// a dead webhook endpoint, then on the durable store.
func (c WrkConfig) contenders() []wrkContender {
	flags := strings.Fields(serverFlags)
	cs := []wrkContender{c.referee()}
	if c.BeforeBin != "" {
		before := flags
		if c.beforeUnlimited {
			before = strings.Fields(unlimitedFlags)
		}
		cs = append(cs, wrkContender{name: "before", bin: c.BeforeBin, args: before, store: StoreMemory, servers: 1})
	}
	cs = append(cs, wrkContender{name: "flashsale", bin: c.ServerBin, args: flags, store: StoreMemory, servers: 1})
	if c.DeadWebhook {
		cs = append(cs, wrkContender{name: deadHookName, bin: c.ServerBin, args: flags, store: StoreMemory, servers: 1, deadHook: true})
	}
	if c.Store != StoreMemory {
		cs = append(cs, wrkContender{name: storeName(c.Store, c.Servers), bin: c.ServerBin, args: flags, store: c.Store, servers: c.Servers})
	}
	return cs
}

// storeName labels the durable store's run: "sqlite", "postgres", and for
// several servers sharing the sale "postgres×2".
func storeName(store string, servers int) string {
	if servers > 1 {
		return store + "×" + strconv.Itoa(servers)
	}
	return store
}

// wrkOrder is the order in which round n (from 1) runs k contenders, as
// indexes into them: each round starts one further along, so that whatever
// a run leaves behind on the machine (a hot CPU, sockets closing) does not
// always fall on the same one.
func wrkOrder(k, n int) []int {
	order := make([]int, k)
	for j := range order {
		order[j] = (n - 1 + j) % k
	}
	return order
}

// measureWrkRound measures the baseline and then every contender (the
// referee among them) in round n's order; the round keeps their runs in
// the report's order.
func measureWrkRound(ctx context.Context, cfg WrkConfig, w *wrk, token string, n int, pgLocal bool) (WrkRound, error) {
	cs := cfg.contenders()
	round := WrkRound{N: n, Servers: make([]WrkRun, len(cs))}
	var err error
	if round.Baseline, err = measureWrk(ctx, cfg, w, cfg.baseline(), token, pgLocal); err != nil {
		return round, err
	}
	for _, i := range wrkOrder(len(cs), n) {
		if round.Servers[i], err = measureWrk(ctx, cfg, w, cs[i], token, pgLocal); err != nil {
			return round, err
		}
	}
	return round, nil
}

// WrkRun is one contender's measured run.
type WrkRun struct {
	Server  string
	Figures WrkFigures
	// ServerCPU is the server processes' user+system CPU over the measured
	// run only, all of them together (zero where /proc is not available).
	ServerCPU time.Duration
	// WrkCPU is wrk's own CPU over the run, and MachineCPU every
	// process's on the machine (zero where /proc is not available): what
	// is left is what others took from the run.
	WrkCPU, MachineCPU time.Duration
	// OthersIncludeDB: the others include the database the servers use
	// (PostgreSQL on this machine), so their CPU is the run's own.
	OthersIncludeDB bool
	// Webhook is the dead webhook endpoint as GET /webhooks showed it after
	// the run, for the run with one (WrkConfig.DeadWebhook); nil otherwise.
	Webhook *generated.WebhookEndpoint
	// RSS is the server processes' resident memory right after the
	// measured run, all of them together, in bytes (zero where /proc is
	// not available).
	RSS int64
	// Status is /status after the run (every server's, when there were
	// several: they must agree).
	Status generated.Status
	// Where is the run's database (a SQLite file, a PostgreSQL schema),
	// "" for the memory store.
	Where string
	// LoadAvg is the machine's 1-minute load average before the run; it
	// counts the previous runs too.
	LoadAvg string
}

// OthersCores is how many cores, on average, processes other than the
// servers and wrk used during the run; -1 when unknown. On a machine this
// small, anything above a few hundredths took CPU the run would have used.
func (r WrkRun) OthersCores() float64 {
	if r.MachineCPU <= 0 || r.Figures.Duration <= 0 {
		return -1
	}
	others := max(r.MachineCPU-r.ServerCPU-r.WrkCPU, 0) // ticks of 10 ms can make it dip below
	return others.Seconds() / r.Figures.Duration.Seconds()
}

// CPUPerRequest is the servers' CPU per completed request, in µs; zero
// when unknown.
func (r WrkRun) CPUPerRequest() float64 {
	if r.ServerCPU <= 0 || r.Figures.Requests == 0 {
		return 0
	}
	return float64(r.ServerCPU) / float64(time.Microsecond) / float64(r.Figures.Requests)
}

// measureWrk gives the contender a fresh database when it has one, starts
// its servers, warms them up, starts a fresh sale, measures it with CPU
// read around the measured run alone, checks the books, stops the servers
// and removes the database, whatever happened.
func measureWrk(ctx context.Context, cfg WrkConfig, w *wrk, ct wrkContender, token string, pgLocal bool) (run WrkRun, err error) {
	run.Server = ct.name
	args := slices.Concat(ct.args, []string{"--admin-token", token})
	switch ct.store {
	case StoreSQLite:
		// A folder of the run's own: a file left by an earlier run would
		// be replayed at start and make the runs differ.
		dir, mkErr := os.MkdirTemp(cfg.DBDir, "flashsale-load-")
		if mkErr != nil {
			return run, fmt.Errorf("%s: make a folder for the database file: %w", ct.name, mkErr)
		}
		defer func() {
			if rmErr := os.RemoveAll(dir); rmErr != nil {
				err = errors.Join(err, fmt.Errorf("%s: remove %s: %w", ct.name, dir, rmErr))
			}
		}()
		run.Where = filepath.Join(dir, "sale.db")
		args = append(args, "--store", StoreSQLite, "--db", run.Where)
	case StorePostgres:
		schema, mkErr := createSchema(ctx, cfg.DSN)
		if mkErr != nil {
			return run, fmt.Errorf("%s: %w", ct.name, mkErr)
		}
		defer func() {
			if dropErr := schema.drop(); dropErr != nil {
				err = errors.Join(err, fmt.Errorf("%s: drop %s: %w", ct.name, schema.where(), dropErr))
			}
		}()
		run.Where = schema.where()
		run.OthersIncludeDB = pgLocal
		args = append(args, "--store", StorePostgres, "--dsn", schema.dsn)
	}
	if ct.deadHook {
		args = append(args, cfg.deadHook.args()...)
	}

	// Deferred after the database's clean-up, so run before it: the
	// servers stop first.
	var children []*Child
	defer func() {
		for _, c := range children {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()
	for i := range ct.servers {
		name := ct.name
		if ct.servers > 1 {
			name = fmt.Sprintf("%s server %d", ct.name, i+1)
		}
		c, err := StartChildOnFreePort(ctx, name, ct.bin, args)
		if err != nil {
			return run, err
		}
		children = append(children, c)
	}
	urls := make([]string, len(children))
	cls := make([]*client, len(children))
	for i, c := range children {
		urls[i] = c.URL()
		if cls[i], err = newClient(c.URL(), token, 1); err != nil {
			return run, fmt.Errorf("%s: %w", ct.name, err)
		}
		defer cls[i].close()
	}
	threads, conns := cfg.Threads, cfg.Connections

	if cfg.Warmup > 0 {
		if err := freshSale(ctx, cls[0], cfg.Inventory); err != nil {
			return run, fmt.Errorf("%s warm-up: %w", ct.name, err)
		}
		f, _, err := w.runAll(ctx, threads, conns, cfg.Warmup, urls, "w")
		if err != nil {
			return run, fmt.Errorf("%s warm-up: %w", ct.name, explain(err, children))
		}
		if err := f.Failure(); err != nil {
			return run, fmt.Errorf("%s warm-up: %w", ct.name, explain(err, children))
		}
		// wrk exits without waiting for the answers in flight; a server
		// still working on one could add a warm-up user to the measured
		// sale. A moment lets those finish; checkWrkBooks would notice
		// the few that did not.
		time.Sleep(100 * time.Millisecond)
	}
	if err := freshSale(ctx, cls[0], cfg.Inventory); err != nil {
		return run, fmt.Errorf("%s: %w", ct.name, err)
	}

	run.LoadAvg, _ = loadAvg()
	busy0, busyOK0 := machineBusy()
	cpu0, ok0 := childrenCPU(children)
	f, wrkCPU, err := w.runAll(ctx, threads, conns, cfg.Duration, urls, "m")
	cpu1, ok1 := childrenCPU(children)
	busy1, busyOK1 := machineBusy()
	run.RSS = childrenRSS(children)
	if err != nil {
		return run, fmt.Errorf("%s: %w", ct.name, explain(err, children))
	}
	run.Figures, run.WrkCPU = f, wrkCPU
	if ok0 && ok1 {
		run.ServerCPU = cpu1 - cpu0
	}
	if busyOK0 && busyOK1 && ok0 && ok1 {
		run.MachineCPU = busy1 - busy0
	}
	if err := f.Failure(); err != nil {
		return run, fmt.Errorf("%s: measured run failed: %w", ct.name, explain(err, children))
	}
	statuses := make([]generated.Status, len(cls))
	for i, cl := range cls {
		if statuses[i], err = cl.status(ctx); err != nil {
			return run, fmt.Errorf("%s: %w", children[i].name, children[i].Explain(err))
		}
	}
	run.Status = statuses[0]
	// Every server answers reads after catching up on the others'
	// commits, so with the load over, all must say the same.
	v := checkSameStatus(statuses)
	v = append(v, checkWrkBooks(f, run.Status, cfg.Inventory, conns)...)
	if len(v) > 0 {
		return run, fmt.Errorf("%s: %w: %s", ct.name, ErrBooks, joinViolations(v))
	}
	if ct.deadHook {
		ep, err := cfg.deadHook.check(ctx, cls[0])
		if err != nil {
			return run, fmt.Errorf("%s: %w", ct.name, children[0].Explain(err))
		}
		run.Webhook = &ep
	}
	return run, nil
}

// childrenCPU is the CPU time the children have used so far, together.
func childrenCPU(cs []*Child) (time.Duration, bool) {
	var sum time.Duration
	for _, c := range cs {
		cpu, ok := c.CPU()
		if !ok {
			return 0, false
		}
		sum += cpu
	}
	return sum, true
}

// childrenRSS is the children's resident memory now, together; zero when
// any cannot be read.
func childrenRSS(cs []*Child) int64 {
	var sum int64
	for _, c := range cs {
		rss, ok := procRSS(c.Pid())
		if !ok {
			return 0
		}
		sum += rss
	}
	return sum
}

// explain adds to err which of the children died, if any did.
func explain(err error, cs []*Child) error {
	for _, c := range cs {
		err = c.Explain(err)
	}
	return err
}

func joinViolations(v []string) string {
	if len(v) == 1 {
		return v[0]
	}
	return fmt.Sprintf("%s (and %d more: %q)", v[0], len(v)-1, v[1:])
}
