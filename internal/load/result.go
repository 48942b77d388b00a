package load

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// Result is what one run measured and what the books check found.
type Result struct {
	Concurrency int
	Inventory   int64
	Mix         bool

	Elapsed  time.Duration
	Requests int64 // every request answered during the measured run
	Answers  []StatusCount
	P50, P90 time.Duration
	P99, Max time.Duration

	Status     generated.Status // /status after the run
	Violations []string         // empty when the books balance

	// Servers is how many servers the load was spread over (Config's URL
	// and MoreURLs), and Statuses each one's /status after the run, in that
	// order, when there were several.
	Servers  int
	Statuses []generated.Status

	// ClientCPU is the CPU time the generator spent during the run, and
	// ServerCPU the server's (set by Compare, which knows its process):
	// both share the machine, so each one's cost per request matters.
	ClientCPU time.Duration
	ServerCPU time.Duration

	// Store is the server's group commit during the run (set by Compare
	// from the real server's /metrics), nil when not read.
	Store *StoreStats
}

// StatusCount is how often one kind of request got one status.
type StatusCount struct {
	Op     string
	Status int
	N      int64
}

func newResult(cfg Config, t *tally, elapsed time.Duration, st generated.Status) Result {
	r := Result{
		Concurrency: cfg.Concurrency,
		Inventory:   cfg.Inventory,
		Mix:         cfg.Mix,
		Elapsed:     elapsed,
		Requests:    t.hist.TotalCount(),
		P50:         micros(t.hist.ValueAtQuantile(50)),
		P90:         micros(t.hist.ValueAtQuantile(90)),
		P99:         micros(t.hist.ValueAtQuantile(99)),
		Max:         micros(t.hist.Max()),
		Status:      st,
		Servers:     1 + len(cfg.MoreURLs),
	}
	for o := range numOps {
		for status, n := range t.counts[o] {
			if n > 0 {
				r.Answers = append(r.Answers, StatusCount{Op: opNames[o], Status: status, N: n})
			}
		}
	}
	return r
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// Throughput is answered requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// BooksErr is nil when the books balance, else an error wrapping ErrBooks
// that names the first violation.
func (r Result) BooksErr() error {
	switch len(r.Violations) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s", ErrBooks, r.Violations[0])
	}
	return fmt.Errorf("%w: %s (and %d more)", ErrBooks, r.Violations[0], len(r.Violations)-1)
}

// Print writes the result for a person to read.
func (r Result) Print(w io.Writer) {
	mix, over := "", ""
	if r.Mix {
		mix = ", mix"
	}
	if r.Servers > 1 {
		over = fmt.Sprintf(" over %d servers", r.Servers)
	}
	fmt.Fprintf(w, "  requests   %d in %s = %.0f req/s (%d connections%s, inventory %d%s)\n",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput(), r.Concurrency, over, r.Inventory, mix)
	fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  max %s\n", r.P50, r.P90, r.P99, r.Max)
	var answers []string
	for _, a := range r.Answers {
		answers = append(answers, fmt.Sprintf("%s %d ×%d", a.Op, a.Status, a.N))
	}
	fmt.Fprintf(w, "  answers    %s\n", strings.Join(answers, ", "))
	st := r.Status
	same := ""
	if len(r.Statuses) > 1 && len(checkSameStatus(r.Statuses)) == 0 {
		same = fmt.Sprintf(" (the same on all %d servers)", len(r.Statuses))
		if len(r.Statuses) == 2 {
			same = " (the same on both servers)"
		}
	}
	fmt.Fprintf(w, "  status     total %d = available %d + held %d + confirmed %d; waitlist %d%s\n",
		st.TotalInventory, st.Available, st.Held, st.Confirmed, st.WaitlistSize, same)
	if cpu := r.cpuLine(); cpu != "" {
		fmt.Fprintf(w, "  cpu        %s\n", cpu)
	}
	if r.Store != nil {
		fmt.Fprintf(w, "  store      %s\n", r.Store.line())
	}
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "  books      balance")
		return
	}
	fmt.Fprintf(w, "  books      DO NOT BALANCE (%d violations)\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "             %s\n", v)
	}
}

func (r Result) cpuLine() string {
	if r.Requests == 0 {
		return ""
	}
	var parts []string
	per := func(d time.Duration) time.Duration {
		return (d / time.Duration(r.Requests)).Round(100 * time.Nanosecond)
	}
	if r.ServerCPU > 0 {
		parts = append(parts, fmt.Sprintf("server %s/request (%.2f cores)", per(r.ServerCPU), r.ServerCPU.Seconds()/r.Elapsed.Seconds()))
	}
	if r.ClientCPU > 0 {
		parts = append(parts, fmt.Sprintf("generator %s/request (%.2f cores)", per(r.ClientCPU), r.ClientCPU.Seconds()/r.Elapsed.Seconds()))
	}
	return strings.Join(parts, ", ")
}
