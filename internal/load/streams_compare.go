package load

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// streamsFigures are the few numbers a streams run is compared by.
type streamsFigures struct {
	rssPerStream   float64 // bytes; 0 when /proc is not available
	heapStack      float64 // bytes of heap and stacks per stream
	goroutines     float64 // per stream
	lastEvent, cpu time.Duration
	cpuOK          bool
}

func (r streamsReport) figures() streamsFigures {
	n := float64(r.cfg.Streams)
	f := streamsFigures{
		heapStack:  (r.after.heapStack() - r.before.heapStack()) / n,
		goroutines: (r.after.goroutines - r.before.goroutines) / n,
		cpuOK:      !slices.ContainsFunc(r.rounds, func(x roundResult) bool { return !x.cpuOK }),
	}
	if r.before.rss > 0 && r.after.rss > 0 {
		f.rssPerStream = float64(r.after.rss-r.before.rss) / n
	}
	last, cpu := make([]time.Duration, len(r.rounds)), make([]time.Duration, len(r.rounds))
	for i, x := range r.rounds {
		last[i], cpu[i] = x.last, x.cpu
	}
	f.lastEvent, f.cpu = medianDuration(last), medianDuration(cpu)
	return f
}

// compareStreams measures c.BeforeBin and c.ServerBin c.Runs times each,
// alternating so that whatever else the machine does falls on both alike,
// and ends with each binary's medians side by side.
func compareStreams(ctx context.Context, c StreamsConfig, out io.Writer) error {
	runs := c.Runs
	if runs == 0 {
		runs = 3
	}
	bins := []struct{ name, bin string }{{"before", c.BeforeBin}, {"after", c.ServerBin}}
	got := make([][]streamsFigures, len(bins))
	for run := 1; run <= runs; run++ {
		for i, b := range bins {
			fmt.Fprintf(out, "\n=== run %d of %d: %s (%s)\n", run, runs, b.name, b.bin)
			cc := c
			cc.ServerBin, cc.BeforeBin = b.bin, ""
			rep, err := measureStreams(ctx, cc, out)
			if err != nil {
				return fmt.Errorf("run %d, %s: %w", run, b.name, err)
			}
			got[i] = append(got[i], rep.figures())
		}
	}
	fmt.Fprintf(out, "\n== before vs after: medians of %d runs each, alternating; per-run values in brackets\n", runs)
	fmt.Fprintf(out, "%-7s  %-28s  %-28s  %-8s  %-30s  %s\n", "", "RSS per stream", "heap+stack per stream", "gor/str", "last event (run's median)", "server CPU per move")
	for i, b := range bins {
		fs := got[i]
		fmt.Fprintf(out, "%-7s  %-28s  %-28s  %-8.2f  %-30s  %s\n", b.name,
			kibs(fs, func(f streamsFigures) float64 { return f.rssPerStream }),
			kibs(fs, func(f streamsFigures) float64 { return f.heapStack }),
			medianFloat(fs, func(f streamsFigures) float64 { return f.goroutines }),
			durs(fs, func(f streamsFigures) time.Duration { return f.lastEvent }, ms),
			durs(fs, func(f streamsFigures) time.Duration { return f.cpu }, func(d time.Duration) string { return cpuMS(d, true) }))
	}
	return nil
}

func medianFloat(fs []streamsFigures, of func(streamsFigures) float64) float64 {
	v := make([]float64, len(fs))
	for i, f := range fs {
		v[i] = of(f)
	}
	return median(v)
}

func kibs(fs []streamsFigures, of func(streamsFigures) float64) string {
	s := kib(medianFloat(fs, of)) + " ["
	for i, f := range fs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.1f", of(f)/(1<<10))
	}
	return s + "]"
}

func durs(fs []streamsFigures, of func(streamsFigures) time.Duration, show func(time.Duration) string) string {
	ds := make([]time.Duration, len(fs))
	for i, f := range fs {
		ds[i] = of(f)
	}
	s := show(medianDuration(ds)) + " ["
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += show(d)
	}
	return s + "]"
}
