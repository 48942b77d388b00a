package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
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
	// CPU profile of it, taken during the measured run, to this file.
	Profile string
	// Out gets each server's figures and the comparison.
	Out io.Writer
}

// Targets from issue 5: reported, never asserted.
const (
	targetThroughput = 0.75 // full stack / baseline, at least
	targetP99        = 2.0  // full stack / baseline, at most
)

// Comparison is what Compare measured.
type Comparison struct {
	Baseline, Server Result
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
// does the same with the real server, and prints both and their ratios. The
// targets are reported, not enforced; the books are: if either server's do
// not balance, the error says so.
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
	if cmp.Baseline, err = measure(ctx, cc, "baseline", cc.Self, append([]string{"baseline"}, base...), token, ""); err != nil {
		return cmp, err
	}
	cmp.Baseline.Print(cc.Out)
	fmt.Fprintf(cc.Out, "== flashsale: the full stack, every middleware on (%s)\n", cc.ServerBin)
	if cmp.Server, err = measure(ctx, cc, "flashsale", cc.ServerBin, serverArgs, token, cc.Profile); err != nil {
		return cmp, err
	}
	cmp.Server.Print(cc.Out)
	cmp.Print(cc.Out)
	return cmp, errors.Join(booksOf("baseline", cmp.Baseline), booksOf("flashsale", cmp.Server))
}

func booksOf(name string, r Result) error {
	if err := r.BooksErr(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// measure starts one server, runs the load against it and stops it.
func measure(ctx context.Context, cc CompareConfig, name, bin string, args []string, token string, profile string) (res Result, err error) {
	cfg := cc.Load
	if la, ok := loadAvg(); ok {
		fmt.Fprintf(cc.Out, "  (machine load average before the run: %s on %d cores)\n", la, runtime.NumCPU())
	}
	c, err := startChild(ctx, name, bin, args)
	if err != nil {
		return res, err
	}
	defer func() {
		if stopErr := c.stop(); err == nil {
			err = stopErr
		}
	}()
	cfg.URL, cfg.Token = c.url, token
	var serverCPU time.Duration
	var profErr error
	cfg.measuring = func() func() {
		cpu0, ok := c.cpu()
		prof := startProfile(ctx, c.url, cfg.Duration, profile)
		return func() {
			if cpu1, ok1 := c.cpu(); ok && ok1 {
				serverCPU = cpu1 - cpu0
			}
			profErr = prof()
		}
	}
	if res, err = Run(ctx, cfg); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	res.ServerCPU = serverCPU
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
	books := "balance on both"
	if c.Baseline.BooksErr() != nil || c.Server.BooksErr() != nil {
		books = "DO NOT BALANCE (see above)"
	}
	fmt.Fprintf(w, "  books      %s\n", books)
}
