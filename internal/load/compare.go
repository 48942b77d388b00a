package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
)

// CompareConfig is a comparison of the real server with the baseline under
// the same load.
type CompareConfig struct {
	// Self is an executable that serves the baseline when run as
	// `Self baseline --addr 127.0.0.1:0 --admin-token T` (flashsale-load).
	Self string
	// ServerBin is the real server, started with --addr 127.0.0.1:0,
	// --admin-token, a rate limit too high to trigger and --log-level info.
	ServerBin string
	// Load is the run both get; its URL and Token are filled in per server.
	Load Config
	// Profile, when set, starts the real server with --pprof and writes a
	// CPU profile of it, taken during the measured run, to this file (and
	// the SQLite run's to the same name with ".sqlite" before the
	// extension, see sqliteProfile; the PostgreSQL servers' with
	// ".postgres", ".postgres-2", …).
	Profile string
	// SQLite, when set, runs the real server a second time, after the
	// memory store, on a fresh SQLite file (--store sqlite --db), and
	// compares the two.
	SQLite bool
	// DBDir is where that file's temporary folder is made (default the
	// system's temporary folder). Durable commits wait for fsync, so the
	// figures are the filesystem's as much as the server's: a tmpfs would
	// make them meaningless.
	DBDir string
	// Postgres, when set, is the DSN of a PostgreSQL server: the real
	// server runs once more, after the others, with --store postgres on a
	// schema made for the run in that database (flashsale_load_<random>,
	// dropped afterwards, whatever happens), and is compared with the
	// memory store.
	Postgres string
	// PostgresServers is how many servers that run starts on the one
	// schema, sharing the sale (default 1). The load's connections are
	// spread over them round-robin, and every server's /status must agree.
	PostgresServers int
	// Out gets each server's figures and the comparison.
	Out io.Writer
}

// Targets from issue 5, issue 9 and the PostgreSQL store's: reported, never
// asserted.
const (
	targetThroughput         = 0.75 // full stack / baseline, at least
	targetP99                = 2.0  // full stack / baseline, at most
	targetSQLiteThroughput   = 0.30 // SQLite / memory store, at least
	targetPostgresThroughput = 0.25 // one server on PostgreSQL / memory store, at least
)

// Comparison is what Compare measured.
type Comparison struct {
	Baseline, Server Result
	// SQLite is the real server on a SQLite file, when asked for.
	SQLite *Result
	// Postgres is the real server on PostgreSQL, when asked for: one
	// server, or several on one schema measured together
	// (Postgres.Servers).
	Postgres *Result
	// PostgresLocal: that PostgreSQL runs on this machine.
	PostgresLocal bool
}

// SQLiteRatio is the SQLite run's requests per second over the memory
// store's, zero without a SQLite run.
func (c Comparison) SQLiteRatio() float64 {
	if c.SQLite == nil {
		return 0
	}
	return ratio(c.SQLite.Throughput(), c.Server.Throughput())
}

// PostgresRatio is the PostgreSQL run's requests per second (all its
// servers together) over the memory store's, zero without a PostgreSQL run.
func (c Comparison) PostgresRatio() float64 {
	if c.Postgres == nil {
		return 0
	}
	return ratio(c.Postgres.Throughput(), c.Server.Throughput())
}

// ThroughputRatio is the real server's requests per second over the
// baseline's.
func (c Comparison) ThroughputRatio() float64 {
	return ratio(c.Server.Throughput(), c.Baseline.Throughput())
}

// P99Ratio is the real server's p99 latency over the baseline's.
func (c Comparison) P99Ratio() float64 {
	return ratio(float64(c.Server.P99), float64(c.Baseline.P99))
}

// ratioAgainst prints a ratio to two decimals, or to three when two would
// round it onto a target it misses (0.246 is not 0.25).
func ratioAgainst(r, target float64) string {
	s := strconv.FormatFloat(r, 'f', 2, 64)
	if r < target && s == strconv.FormatFloat(target, 'f', 2, 64) {
		s = strconv.FormatFloat(r, 'f', 3, 64)
	}
	return s
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Compare starts the baseline, runs the load against it and stops it, then
// does the same with the real server (and, asked to, with the real server on
// a fresh SQLite file, and on PostgreSQL), and prints all and their ratios.
// The targets are reported, not enforced; the books are: if any server's do
// not balance, the error says so.
func Compare(ctx context.Context, cc CompareConfig) (cmp Comparison, err error) {
	if cc.Self == "" || cc.ServerBin == "" {
		return cmp, errors.New("compare needs the baseline executable and the server binary")
	}
	probe := cc.Load
	probe.URL = "http://127.0.0.1" // filled in per server
	probe.MoreURLs = nil
	if err := probe.validate(); err != nil {
		return cmp, fmt.Errorf("load config: %w", err)
	}
	var schema *pgSchema
	switch {
	case cc.PostgresServers < 0:
		return cmp, fmt.Errorf("%d PostgreSQL servers: want 1 or more", cc.PostgresServers)
	case cc.PostgresServers > 1 && cc.Postgres == "":
		return cmp, fmt.Errorf("%d PostgreSQL servers, but no PostgreSQL DSN to run them on", cc.PostgresServers)
	case cc.Postgres != "":
		cc.PostgresServers = max(cc.PostgresServers, 1)
		probe.MoreURLs = make([]string, cc.PostgresServers-1)
		for i := range probe.MoreURLs {
			probe.MoreURLs[i] = probe.URL
		}
		if err := probe.validate(); err != nil {
			return cmp, fmt.Errorf("load config: %w", err)
		}
		// Made first, so that a server that cannot be reached fails the
		// comparison before the other runs rather than after them.
		if schema, err = createSchema(ctx, cc.Postgres); err != nil {
			return cmp, err
		}
		defer func() {
			if dropErr := schema.drop(); dropErr != nil {
				err = errors.Join(err, fmt.Errorf("drop the comparison's schema %s: %w", schema.name, dropErr))
			}
		}()
		cmp.PostgresLocal = pgOnThisMachine(cc.Postgres)
	}
	token := rand.Text()
	base := []string{"--addr", "127.0.0.1:0", "--admin-token", token}
	serverArgs := slices.Concat(base, strings.Fields(serverFlags))
	if cc.Profile != "" {
		serverArgs = append(serverArgs, "--pprof")
	}

	fmt.Fprintf(cc.Out, "== baseline: bare net/http, one atomic counter (%s baseline)\n", cc.Self)
	baseline := server{name: "baseline", bin: cc.Self, args: append([]string{"baseline"}, base...)}
	if cmp.Baseline, err = measure(ctx, cc, token, baseline.name, baseline); err != nil {
		return cmp, err
	}
	cmp.Baseline.Print(cc.Out)
	fmt.Fprintf(cc.Out, "== flashsale: the full stack, every middleware on, memory store (%s)\n", cc.ServerBin)
	full := server{name: "flashsale", bin: cc.ServerBin, args: serverArgs, profile: cc.Profile, metrics: true}
	if cmp.Server, err = measure(ctx, cc, token, full.name, full); err != nil {
		return cmp, err
	}
	cmp.Server.Print(cc.Out)
	if cc.SQLite {
		res, err := measureSQLite(ctx, cc, full, token)
		if err != nil {
			return cmp, err
		}
		cmp.SQLite = &res
		res.Print(cc.Out)
	}
	if schema != nil {
		res, err := measurePostgres(ctx, cc, full, token, schema, cmp.PostgresLocal)
		if err != nil {
			return cmp, err
		}
		cmp.Postgres = &res
		res.Print(cc.Out)
	}
	cmp.Print(cc.Out)
	errs := []error{booksOf("baseline", cmp.Baseline), booksOf("flashsale", cmp.Server)}
	if cmp.SQLite != nil {
		errs = append(errs, booksOf("flashsale on SQLite", *cmp.SQLite))
	}
	if cmp.Postgres != nil {
		errs = append(errs, booksOf(postgresName(cmp.Postgres.Servers), *cmp.Postgres))
	}
	return cmp, errors.Join(errs...)
}

// measureSQLite runs the real server on a SQLite file in a folder of its
// own, made for this run and removed after it: a file left by an earlier run
// would be replayed at start and would make the runs differ.
func measureSQLite(ctx context.Context, cc CompareConfig, srv server, token string) (Result, error) {
	dir, err := os.MkdirTemp(cc.DBDir, "flashsale-load-")
	if err != nil {
		return Result{}, fmt.Errorf("flashsale on SQLite: make a folder for the file: %w", err)
	}
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "sale.db")
	srv.name = "flashsale on SQLite"
	srv.args = slices.Concat(srv.args, []string{"--store", "sqlite", "--db", db})
	srv.profile = sqliteProfile(srv.profile)
	fmt.Fprintf(cc.Out, "== flashsale on SQLite: the same, every change committed to %s before it is answered\n", db)
	return measure(ctx, cc, token, srv.name, srv)
}

// measurePostgres runs the real server on PostgreSQL, in the schema made
// for this comparison: cc.PostgresServers of them on that one schema, all
// started before the load and measured together.
func measurePostgres(ctx context.Context, cc CompareConfig, srv server, token string, schema *pgSchema, local bool) (Result, error) {
	n := max(cc.PostgresServers, 1)
	srvs := make([]server, n)
	for i := range srvs {
		s := srv
		s.name = postgresName(n)
		tag := "postgres"
		if n > 1 {
			s.name = fmt.Sprintf("%s: server %d", s.name, i+1)
		}
		if i > 0 {
			tag = fmt.Sprintf("postgres-%d", i+1)
		}
		s.args = slices.Concat(srv.args, []string{"--store", "postgres", "--dsn", schema.dsn})
		s.profile = profileFor(srv.profile, tag)
		srvs[i] = s
	}
	where := fmt.Sprintf("schema %s at %s", schema.name, pgdsn.Redact(schema.server))
	if n == 1 {
		fmt.Fprintf(cc.Out, "== %s: the same, every change committed to %s before it is answered\n", postgresName(n), where)
	} else {
		fmt.Fprintf(cc.Out, "== %s: the same, sharing one sale in %s, every change committed before it is answered;"+
			" the load's connections go to them round-robin\n", postgresName(n), where)
	}
	if share := sharedCPU(n, local); share != "" {
		fmt.Fprintf(cc.Out, "  (%s)\n", share)
	}
	return measure(ctx, cc, token, postgresName(n), srvs...)
}

// postgresName names the PostgreSQL run in its report and its errors.
func postgresName(servers int) string {
	if servers > 1 {
		return fmt.Sprintf("flashsale on PostgreSQL, %d servers", servers)
	}
	return "flashsale on PostgreSQL"
}

// sharedCPU says who shares this machine's cores during a PostgreSQL run
// with several servers, whose figures are those of the whole machine, not
// of one server; "" for one server.
func sharedCPU(servers int, local bool) string {
	if servers < 2 {
		return ""
	}
	who := fmt.Sprintf("all %d servers", servers)
	if servers == 2 {
		who = "both servers"
	}
	if local {
		who += ", PostgreSQL"
	}
	return fmt.Sprintf("on this %d-core machine %s and the load generator share the CPU", runtime.NumCPU(), who)
}

// sqliteProfile is where the SQLite run's profile goes: cpu.pprof becomes
// cpu.sqlite.pprof, so that the memory run's is kept beside it.
func sqliteProfile(file string) string { return profileFor(file, "sqlite") }

// profileFor is where a run's profile goes: file with tag before its
// extension, "" without a file.
func profileFor(file, tag string) string {
	if file == "" {
		return ""
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "." + tag + ext
}

func booksOf(name string, r Result) error {
	if err := r.BooksErr(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// serverFlags are the real server's flags besides its address and token, in
// every comparison and for every build, so that only the code differs: a rate
// limit too high to trigger, and logging at info.
const serverFlags = "--rate-limit 1000000 --rate-burst 1000000 --log-level info"

// server is one child a comparison runs.
type server struct {
	name, bin string
	args      []string
	profile   string // a CPU profile of the measured run goes here
	metrics   bool   // it serves the store's /metrics
}

// measure starts the servers, runs the load against them (spread over
// them, when there are several: they share one sale) and stops them. The
// server CPU and the store's figures are those of all of them together;
// name is what errors call them.
func measure(ctx context.Context, cc CompareConfig, token, name string, srvs ...server) (res Result, err error) {
	cfg := cc.Load
	if la, ok := loadAvg(); ok {
		fmt.Fprintf(cc.Out, "  (machine load average before the run: %s on %d cores)\n", la, runtime.NumCPU())
	}
	var children []*Child
	defer func() {
		for _, c := range children {
			if stopErr := c.Stop(); err == nil {
				err = stopErr
			}
		}
	}()
	for _, srv := range srvs {
		c, err := StartChild(ctx, srv.name, srv.bin, srv.args)
		if err != nil {
			return res, err
		}
		children = append(children, c)
	}
	cfg.URL, cfg.Token, cfg.MoreURLs = children[0].URL(), token, nil
	for _, c := range children[1:] {
		cfg.MoreURLs = append(cfg.MoreURLs, c.URL())
	}
	var (
		serverCPU time.Duration
		profErr   error
		store     *StoreStats
		storeErr  error
	)
	cfg.measuring = func() func() {
		befores := make([]map[string]float64, len(srvs))
		cpu0s := make([]time.Duration, len(srvs))
		cpuOK := true
		profs := make([]func() error, len(srvs))
		for i, c := range children {
			if srvs[i].metrics && storeErr == nil {
				befores[i], storeErr = scrapeStore(ctx, c.URL())
			}
			var ok bool
			cpu0s[i], ok = c.CPU()
			cpuOK = cpuOK && ok
			profs[i] = startProfile(ctx, c.URL(), cfg.Duration, srvs[i].profile)
		}
		return func() {
			var cpu time.Duration
			for i, c := range children {
				cpu1, ok := c.CPU()
				cpuOK = cpuOK && ok
				cpu += cpu1 - cpu0s[i]
			}
			if cpuOK {
				serverCPU = cpu
			}
			for _, prof := range profs {
				profErr = errors.Join(profErr, prof())
			}
			if storeErr != nil {
				return
			}
			var sum *StoreStats
			for i, c := range children {
				if !srvs[i].metrics {
					continue
				}
				after, err := scrapeStore(ctx, c.URL())
				if err != nil {
					storeErr = err
					return
				}
				st := storeDelta(befores[i], after)
				if sum != nil {
					st = sum.plus(st)
				}
				sum = &st
			}
			store = sum
		}
	}
	if res, err = Run(ctx, cfg); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	res.ServerCPU = serverCPU
	res.Store = store
	if storeErr != nil {
		// The figures stand without the batch sizes; say why they are
		// missing rather than fail the comparison.
		fmt.Fprintf(cc.Out, "  (%s: %v)\n", name, storeErr)
	}
	if profErr != nil {
		return res, fmt.Errorf("%s: %w", name, profErr)
	}
	return res, nil
}

// startProfile fetches a CPU profile from the server's /debug/pprof while
// the measured run goes on, covering all but its last second, and returns a
// function that waits for it and writes it to file. With no file, nothing.
func startProfile(ctx context.Context, url string, d time.Duration, file string) func() error {
	if file == "" {
		return func() error { return nil }
	}
	secs := max(int(d.Seconds())-1, 1)
	done := make(chan error, 1)
	go func() { done <- fetchProfile(ctx, url+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), file) }()
	return func() error { return <-done }
}

func fetchProfile(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s answered %d (is the server's --pprof on?)", url, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile: write %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("profile: write %s: %w", file, err)
	}
	return nil
}

// Print writes the ratios and whether issue 5's targets are met.
func (c Comparison) Print(w io.Writer) {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT MET"
	}
	tr, pr := c.ThroughputRatio(), c.P99Ratio()
	fmt.Fprintln(w, "== comparison")
	fmt.Fprintf(w, "  throughput flashsale %.0f / baseline %.0f req/s = %.2f   (target >= %.2f: %s)\n",
		c.Server.Throughput(), c.Baseline.Throughput(), tr, targetThroughput, met(tr >= targetThroughput))
	fmt.Fprintf(w, "  p99        flashsale %s / baseline %s = %.2fx   (target <= %.0fx: %s)\n",
		c.Server.P99, c.Baseline.P99, pr, targetP99, met(pr <= targetP99))
	if c.Server.ServerCPU > 0 && c.Baseline.ServerCPU > 0 {
		per := func(r Result) float64 { return float64(r.ServerCPU.Microseconds()) / float64(r.Requests) }
		fmt.Fprintf(w, "  server cpu flashsale %.1f µs / baseline %.1f µs per request = %.2fx\n",
			per(c.Server), per(c.Baseline), ratio(per(c.Server), per(c.Baseline)))
	}
	runs := 2
	broken := c.Baseline.BooksErr() != nil || c.Server.BooksErr() != nil
	if c.SQLite != nil {
		sr, spr := c.SQLiteRatio(), ratio(float64(c.SQLite.P99), float64(c.Server.P99))
		fmt.Fprintf(w, "  sqlite     throughput SQLite %.0f / memory %.0f req/s = %s   (target >= %.2f: %s)\n",
			c.SQLite.Throughput(), c.Server.Throughput(), ratioAgainst(sr, targetSQLiteThroughput), targetSQLiteThroughput, met(sr >= targetSQLiteThroughput))
		fmt.Fprintf(w, "             p99 SQLite %s / memory %s = %.2fx\n", c.SQLite.P99, c.Server.P99, spr)
		if st := c.SQLite.Store; st != nil {
			fmt.Fprintf(w, "             batches: mean %.1f calls, max %d\n", st.MeanBatch(), st.MaxBatch)
		}
		runs++
		broken = broken || c.SQLite.BooksErr() != nil
	}
	if p := c.Postgres; p != nil {
		label := "PostgreSQL"
		if p.Servers > 1 {
			label = fmt.Sprintf("PostgreSQL (%d servers)", p.Servers)
		}
		pr, ppr := c.PostgresRatio(), ratio(float64(p.P99), float64(c.Server.P99))
		if p.Servers > 1 {
			// The target is one server's; several are reported as they are.
			fmt.Fprintf(w, "  postgres   throughput %s %.0f / memory %.0f req/s = %.2f\n",
				label, p.Throughput(), c.Server.Throughput(), pr)
		} else {
			fmt.Fprintf(w, "  postgres   throughput %s %.0f / memory %.0f req/s = %s   (target >= %.2f: %s)\n",
				label, p.Throughput(), c.Server.Throughput(), ratioAgainst(pr, targetPostgresThroughput), targetPostgresThroughput, met(pr >= targetPostgresThroughput))
		}
		fmt.Fprintf(w, "             p99 %s %s / memory %s = %.2fx\n", label, p.P99, c.Server.P99, ppr)
		if st := p.Store; st != nil {
			fmt.Fprintf(w, "             batches: mean %.1f calls, max %d\n", st.MeanBatch(), st.MaxBatch)
		}
		if share := sharedCPU(p.Servers, c.PostgresLocal); share != "" {
			fmt.Fprintf(w, "             %s\n", share)
		}
		runs++
		broken = broken || p.BooksErr() != nil
	}
	books := [...]string{2: "balance on both", 3: "balance on all three", 4: "balance on all four"}[runs]
	if broken {
		books = "DO NOT BALANCE (see above)"
	}
	fmt.Fprintf(w, "  books      %s\n", books)
}
