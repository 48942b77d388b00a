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
	// extension, see sqliteProfile).
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
	// Out gets each server's figures and the comparison.
	Out io.Writer
}

// Targets from issue 5 and issue 9: reported, never asserted.
const (
	targetThroughput       = 0.75 // full stack / baseline, at least
	targetP99              = 2.0  // full stack / baseline, at most
	targetSQLiteThroughput = 0.30 // SQLite / memory store, at least
)

// Comparison is what Compare measured.
type Comparison struct {
	Baseline, Server Result
	// SQLite is the real server on a SQLite file, when asked for.
	SQLite *Result
}

// SQLiteRatio is the SQLite run's requests per second over the memory
// store's, zero without a SQLite run.
func (c Comparison) SQLiteRatio() float64 {
	if c.SQLite == nil {
		return 0
	}
	return ratio(c.SQLite.Throughput(), c.Server.Throughput())
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

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Compare starts the baseline, runs the load against it and stops it, then
// does the same with the real server (and, asked to, with the real server on
// a fresh SQLite file), and prints all and their ratios. The targets are
// reported, not enforced; the books are: if any server's do not balance, the
// error says so.
func Compare(ctx context.Context, cc CompareConfig) (Comparison, error) {
	var cmp Comparison
	if cc.Self == "" || cc.ServerBin == "" {
		return cmp, errors.New("compare needs the baseline executable and the server binary")
	}
	probe := cc.Load
	probe.URL = "http://127.0.0.1" // filled in per server
	if err := probe.validate(); err != nil {
		return cmp, fmt.Errorf("load config: %w", err)
	}
	token := rand.Text()
	base := []string{"--addr", "127.0.0.1:0", "--admin-token", token}
	serverArgs := slices.Concat(base, []string{"--rate-limit", "1000000", "--rate-burst", "1000000", "--log-level", "info"})
	if cc.Profile != "" {
		serverArgs = append(serverArgs, "--pprof")
	}

	var err error
	fmt.Fprintf(cc.Out, "== baseline: bare net/http, one atomic counter (%s baseline)\n", cc.Self)
	baseline := server{name: "baseline", bin: cc.Self, args: append([]string{"baseline"}, base...)}
	if cmp.Baseline, err = measure(ctx, cc, baseline, token); err != nil {
		return cmp, err
	}
	cmp.Baseline.Print(cc.Out)
	fmt.Fprintf(cc.Out, "== flashsale: the full stack, every middleware on, memory store (%s)\n", cc.ServerBin)
	full := server{name: "flashsale", bin: cc.ServerBin, args: serverArgs, profile: cc.Profile, metrics: true}
	if cmp.Server, err = measure(ctx, cc, full, token); err != nil {
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
	cmp.Print(cc.Out)
	errs := []error{booksOf("baseline", cmp.Baseline), booksOf("flashsale", cmp.Server)}
	if cmp.SQLite != nil {
		errs = append(errs, booksOf("flashsale on SQLite", *cmp.SQLite))
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
	return measure(ctx, cc, srv, token)
}

// sqliteProfile is where the SQLite run's profile goes: cpu.pprof becomes
// cpu.sqlite.pprof, so that the memory run's is kept beside it.
func sqliteProfile(file string) string {
	if file == "" {
		return ""
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + ".sqlite" + ext
}

func booksOf(name string, r Result) error {
	if err := r.BooksErr(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// server is one child a comparison runs.
type server struct {
	name, bin string
	args      []string
	profile   string // a CPU profile of the measured run goes here
	metrics   bool   // it serves the store's /metrics
}

// measure starts one server, runs the load against it and stops it.
func measure(ctx context.Context, cc CompareConfig, srv server, token string) (res Result, err error) {
	cfg := cc.Load
	if la, ok := loadAvg(); ok {
		fmt.Fprintf(cc.Out, "  (machine load average before the run: %s on %d cores)\n", la, runtime.NumCPU())
	}
	c, err := startChild(ctx, srv.name, srv.bin, srv.args)
	if err != nil {
		return res, err
	}
	defer func() {
		if stopErr := c.stop(); err == nil {
			err = stopErr
		}
	}()
	cfg.URL, cfg.Token = c.url, token
	var (
		serverCPU time.Duration
		profErr   error
		store     *StoreStats
		storeErr  error
	)
	cfg.measuring = func() func() {
		var before map[string]float64
		if srv.metrics {
			before, storeErr = scrapeStore(ctx, c.url)
		}
		cpu0, ok := c.cpu()
		prof := startProfile(ctx, c.url, cfg.Duration, srv.profile)
		return func() {
			if cpu1, ok1 := c.cpu(); ok && ok1 {
				serverCPU = cpu1 - cpu0
			}
			profErr = prof()
			if srv.metrics && storeErr == nil {
				var after map[string]float64
				if after, storeErr = scrapeStore(ctx, c.url); storeErr == nil {
					st := storeDelta(before, after)
					store = &st
				}
			}
		}
	}
	if res, err = Run(ctx, cfg); err != nil {
		return res, fmt.Errorf("%s: %w", srv.name, err)
	}
	res.ServerCPU = serverCPU
	res.Store = store
	if storeErr != nil {
		// The figures stand without the batch sizes; say why they are
		// missing rather than fail the comparison.
		fmt.Fprintf(cc.Out, "  (%s: %v)\n", srv.name, storeErr)
	}
	if profErr != nil {
		return res, fmt.Errorf("%s: %w", srv.name, profErr)
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
	books := "balance on both"
	broken := c.Baseline.BooksErr() != nil || c.Server.BooksErr() != nil
	if c.SQLite != nil {
		sr, spr := c.SQLiteRatio(), ratio(float64(c.SQLite.P99), float64(c.Server.P99))
		fmt.Fprintf(w, "  sqlite     throughput SQLite %.0f / memory %.0f req/s = %.2f   (target >= %.2f: %s)\n",
			c.SQLite.Throughput(), c.Server.Throughput(), sr, targetSQLiteThroughput, met(sr >= targetSQLiteThroughput))
		fmt.Fprintf(w, "             p99 SQLite %s / memory %s = %.2fx\n", c.SQLite.P99, c.Server.P99, spr)
		if st := c.SQLite.Store; st != nil {
			fmt.Fprintf(w, "             batches: mean %.1f calls, max %d\n", st.MeanBatch(), st.MaxBatch)
		}
		books = "balance on all three"
		broken = broken || c.SQLite.BooksErr() != nil
	}
	if broken {
		books = "DO NOT BALANCE (see above)"
	}
	fmt.Fprintf(w, "  books      %s\n", books)
}
