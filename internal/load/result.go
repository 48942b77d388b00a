package load

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// BooksResult is what one books run measured and what its check found.
type BooksResult struct {
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

	// Servers is how many servers the load was spread over (BooksConfig's
	// URL and MoreURLs), and Statuses each one's /status after the run, in
	// that order, when there were several.
	Servers  int
	Statuses []generated.Status

	// ClientCPU is the CPU time this process spent sending the load: it
	// shares the machine with the server when both run on it.
	ClientCPU time.Duration
}

// StatusCount is how often one kind of request got one status.
type StatusCount struct {
	Op     string
	Status int
	N      int64
}

func newBooksResult(cfg BooksConfig, t *tally, elapsed time.Duration, st generated.Status) BooksResult {
	r := BooksResult{
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
func (r BooksResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// BooksErr is nil when the books balance, else an error wrapping ErrBooks
// that names the first violation.
func (r BooksResult) BooksErr() error {
	switch len(r.Violations) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s", ErrBooks, r.Violations[0])
	}
	return fmt.Errorf("%w: %s (and %d more)", ErrBooks, r.Violations[0], len(r.Violations)-1)
}

// Print writes the result for a person to read.
func (r BooksResult) Print(w io.Writer) {
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
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "  books      balance")
		return
	}
	fmt.Fprintf(w, "  books      DO NOT BALANCE (%d violations)\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "             %s\n", v)
	}
}

func (r BooksResult) cpuLine() string {
	if r.Requests == 0 || r.ClientCPU <= 0 || r.Elapsed <= 0 {
		return ""
	}
	per := (r.ClientCPU / time.Duration(r.Requests)).Round(100 * time.Nanosecond)
	return fmt.Sprintf("generator %s/request (%.2f cores)", per, r.ClientCPU.Seconds()/r.Elapsed.Seconds())
}
