package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// WrkConfig is a comparison of the real server with the baseline measured by
// wrk, a generator written in C that is not this project's: a figure that
// both this generator and wrk agree on is not an artefact of either.
type WrkConfig struct {
	// Self serves the baseline when run as `Self baseline --addr
	// 127.0.0.1:0 --admin-token T` (flashsale-load), as for Compare.
	Self string
	// ServerBin is the real server, started as Compare starts it.
	ServerBin string
	// BeforeBin, when set, is an earlier build of the real server, started
	// with the same flags and measured in the same rounds as "before":
	// before and after from one run on one machine, which two runs on
	// different days could not give.
	BeforeBin string
	// Wrk is the wrk binary, a path or a name looked up on PATH (default
	// "wrk").
	Wrk string
	// Rounds is how many times each server is measured, alternating:
	// baseline, flashsale, baseline, flashsale, … (default 3). Alternating
	// spreads whatever else the machine does over both. With BeforeBin the
	// baseline still runs first in each round, and the two builds take
	// turns after it, so that neither always follows the baseline.
	Rounds int
	// Duration is each measured run's length, whole seconds (default 10s);
	// Warmup the discarded run before it (default 2s, 0 for none).
	Duration, Warmup time.Duration
	// Threads and Connections are wrk's -t and -c (default 2 and 64).
	Threads, Connections int
	// Inventory is the units each sale starts with (default 1000): every
	// run sells out and then fills the line.
	Inventory int64
	// Out gets the report, a round at a time.
	Out io.Writer
}

func (c *WrkConfig) defaults() {
	if c.Wrk == "" {
		c.Wrk = "wrk"
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

func (c WrkConfig) validate() error {
	var errs []error
	if c.Self == "" || c.ServerBin == "" {
		errs = append(errs, errors.New("the baseline executable and the server binary are required"))
	}
	if c.Rounds < 1 {
		errs = append(errs, fmt.Errorf("%d rounds: want 1 or more", c.Rounds))
	}
	// wrk counts in whole seconds and would round anything else.
	if c.Duration < time.Second || c.Duration%time.Second != 0 {
		errs = append(errs, fmt.Errorf("duration %s: want whole seconds, at least 1s", c.Duration))
	}
	if c.Warmup < 0 || c.Warmup%time.Second != 0 {
		errs = append(errs, fmt.Errorf("warm-up %s: want whole seconds (0 for none)", c.Warmup))
	}
	if c.Threads < 1 || c.Connections < c.Threads {
		errs = append(errs, fmt.Errorf("%d threads and %d connections: wrk wants at least one thread and a connection per thread", c.Threads, c.Connections))
	}
	if c.Inventory < 0 {
		errs = append(errs, fmt.Errorf("inventory %d is negative", c.Inventory))
	}
	return errors.Join(errs...)
}

// WrkCompare measures the baseline and the real server (and BeforeBin's
// build, when set) with wrk, Rounds times, alternating, each run on a fresh
// process and a fresh sale, and prints each round's figures and ratios,
// once the round is over, and a summary. Any failed request
// or unbalanced books fails the comparison; the targets are reported only.
func WrkCompare(ctx context.Context, cfg WrkConfig) (WrkReport, error) {
	cfg.defaults()
	rep := WrkReport{Config: cfg}
	if err := cfg.validate(); err != nil {
		return rep, fmt.Errorf("wrk comparison: %w", err)
	}
	dir, err := os.MkdirTemp("", "flashsale-wrk-")
	if err != nil {
		return rep, fmt.Errorf("wrk comparison: %w", err)
	}
	defer os.RemoveAll(dir)
	w, err := newWrk(cfg.Wrk, dir, cfg.Threads, cfg.Connections)
	if err != nil {
		return rep, err
	}
	rep.Machine = describeMachine(time.Now(), w.version(ctx))
	shown := *w
	shown.script = filepath.Base(w.script) // the temporary folder means nothing to a reader
	rep.WrkArgs = shown.args(cfg.Duration, "URL", "m")
	rep.printHeader(cfg.Out)

	token := rand.Text()
	baseline := server{name: "baseline", bin: cfg.Self, args: []string{"baseline", "--addr", "127.0.0.1:0", "--admin-token", token}}
	for n := 1; n <= cfg.Rounds; n++ {
		printRoundHeader(cfg.Out, n, cfg.Rounds)
		round, err := measureWrkRound(ctx, cfg, w, baseline, token, n)
		if err != nil {
			return rep, fmt.Errorf("round %d: %w", n, err)
		}
		round.printRows(cfg.Out)
		rep.Rounds = append(rep.Rounds, round)
	}
	rep.printSummary(cfg.Out)
	return rep, nil
}

// wrkContender is a build of the real server measured against the
// baseline; name labels its rows.
type wrkContender struct{ name, bin string }

// contenders are the builds measured against the baseline, in the report's
// order: the earlier one first, as a reader expects before and after.
func (c WrkConfig) contenders() []wrkContender {
	var cs []wrkContender
	if c.BeforeBin != "" {
		cs = append(cs, wrkContender{name: "before", bin: c.BeforeBin})
	}
	return append(cs, wrkContender{name: "flashsale", bin: c.ServerBin})
}

func (c wrkContender) server(token string) server {
	args := append([]string{"--addr", "127.0.0.1:0", "--admin-token", token}, strings.Fields(serverFlags)...)
	return server{name: c.name, bin: c.bin, args: args}
}

// wrkOrder is the order in which round n (from 1) runs k contenders, as
// indexes into them: each round starts one further along, so that whatever
// a run leaves behind on the machine (a hot CPU, sockets closing) does not
// always fall on the same build.
func wrkOrder(k, n int) []int {
	order := make([]int, k)
	for j := range order {
		order[j] = (n - 1 + j) % k
	}
	return order
}

// measureWrkRound measures the baseline and then every contender in round
// n's order; the round keeps their runs in the report's order.
func measureWrkRound(ctx context.Context, cfg WrkConfig, w *wrk, baseline server, token string, n int) (WrkRound, error) {
	cs := cfg.contenders()
	round := WrkRound{N: n, Servers: make([]WrkRun, len(cs))}
	var err error
	if round.Baseline, err = measureWrk(ctx, cfg, w, baseline, token); err != nil {
		return round, err
	}
	for _, i := range wrkOrder(len(cs), n) {
		if round.Servers[i], err = measureWrk(ctx, cfg, w, cs[i].server(token), token); err != nil {
			return round, err
		}
	}
	return round, nil
}

// WrkRun is one server's measured run.
type WrkRun struct {
	Server  string
	Figures WrkFigures
	// ServerCPU is the server process's user+system CPU over the measured
	// run only (zero where /proc is not available).
	ServerCPU time.Duration
	// WrkCPU is wrk's own CPU over the run, and MachineCPU every
	// process's on the machine (zero where /proc is not available): what
	// is left is what others took from the run.
	WrkCPU, MachineCPU time.Duration
	// Status is /status after the run.
	Status generated.Status
	// LoadAvg is the machine's 1-minute load average before the run; it
	// counts the previous runs too.
	LoadAvg string
}

// OthersCores is how many cores, on average, processes other than the
// server and wrk used during the run; -1 when unknown. On a machine this
// small, anything above a few hundredths took CPU the run would have used.
func (r WrkRun) OthersCores() float64 {
	if r.MachineCPU <= 0 || r.Figures.Duration <= 0 {
		return -1
	}
	others := max(r.MachineCPU-r.ServerCPU-r.WrkCPU, 0) // ticks of 10 ms can make it dip below
	return others.Seconds() / r.Figures.Duration.Seconds()
}

// CPUPerRequest is the server's CPU per completed request, in µs; zero
// when unknown.
func (r WrkRun) CPUPerRequest() float64 {
	if r.ServerCPU <= 0 || r.Figures.Requests == 0 {
		return 0
	}
	return float64(r.ServerCPU) / float64(time.Microsecond) / float64(r.Figures.Requests)
}

// measureWrk starts a fresh server, warms it up, starts a fresh sale,
// measures it with CPU read around the measured run alone, checks its books
// and stops it.
func measureWrk(ctx context.Context, cfg WrkConfig, w *wrk, srv server, token string) (run WrkRun, err error) {
	run.Server = srv.name
	c, err := StartChild(ctx, srv.name, srv.bin, srv.args)
	if err != nil {
		return run, err
	}
	defer func() {
		if stopErr := c.Stop(); err == nil && stopErr != nil {
			err = stopErr
		}
	}()
	cl, err := newClient(c.URL(), token, 1)
	if err != nil {
		return run, fmt.Errorf("%s: %w", srv.name, err)
	}
	defer cl.close()

	if cfg.Warmup > 0 {
		if err := freshSale(ctx, cl, cfg.Inventory); err != nil {
			return run, fmt.Errorf("%s warm-up: %w", srv.name, err)
		}
		f, _, err := w.run(ctx, cfg.Warmup, c.URL(), "w")
		if err != nil {
			return run, fmt.Errorf("%s warm-up: %w", srv.name, err)
		}
		if err := f.Failure(); err != nil {
			return run, fmt.Errorf("%s warm-up: %w", srv.name, err)
		}
		// wrk exits without waiting for the answers in flight; a server
		// still working on one could add a warm-up user to the measured
		// sale. A moment lets those finish; checkWrkBooks would notice
		// the few that did not.
		time.Sleep(100 * time.Millisecond)
	}
	if err := freshSale(ctx, cl, cfg.Inventory); err != nil {
		return run, fmt.Errorf("%s: %w", srv.name, err)
	}

	run.LoadAvg, _ = loadAvg()
	busy0, busyOK0 := machineBusy()
	cpu0, ok0 := c.CPU()
	f, wrkCPU, err := w.run(ctx, cfg.Duration, c.URL(), "m")
	cpu1, ok1 := c.CPU()
	busy1, busyOK1 := machineBusy()
	if err != nil {
		return run, fmt.Errorf("%s: %w", srv.name, err)
	}
	run.Figures, run.WrkCPU = f, wrkCPU
	if ok0 && ok1 {
		run.ServerCPU = cpu1 - cpu0
	}
	if busyOK0 && busyOK1 && ok0 && ok1 {
		run.MachineCPU = busy1 - busy0
	}
	if err := f.Failure(); err != nil {
		return run, fmt.Errorf("%s: measured run failed: %w", srv.name, err)
	}
	if run.Status, err = cl.status(ctx); err != nil {
		return run, fmt.Errorf("%s: %w", srv.name, err)
	}
	if v := checkWrkBooks(f, run.Status, cfg.Inventory, cfg.Connections); len(v) > 0 {
		return run, fmt.Errorf("%s: %w: %s", srv.name, ErrBooks, joinViolations(v))
	}
	return run, nil
}

// freshSale starts a new sale of total units (reset: true) and checks that
// it starts empty.
func freshSale(ctx context.Context, cl *client, total int64) error {
	st, err := cl.initialize(ctx, total)
	if err != nil {
		return err
	}
	if st.TotalInventory != total || st.Available != total || st.Held+st.Confirmed+st.WaitlistSize != 0 {
		return fmt.Errorf("initialize %d units: a fresh sale should be all available, got %+v", total, st)
	}
	return nil
}

func joinViolations(v []string) string {
	if len(v) == 1 {
		return v[0]
	}
	return fmt.Sprintf("%s (and %d more: %q)", v[0], len(v)-1, v[1:])
}
