package load

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// streamsReport is what a streams run measured.
type streamsReport struct {
	cfg                   StreamsConfig
	started               time.Time
	serverCmd             string
	lineTook, openTook    time.Duration
	before, after, during memSample // before and after opening the streams; after the rounds
	rounds                []roundResult
	roundsCPU             time.Duration
	roundsCPUOK           bool
	// benchCPU is this process's over the rounds: on a small machine the
	// streams' reader goroutines take cores the server would use.
	benchCPU   time.Duration
	benchCPUOK bool
}

func (r streamsReport) printHeader(w io.Writer) {
	fmt.Fprintf(w, "== streams: %d Server-Sent Event streams on loopback while the line moves, %d rounds\n", r.cfg.Streams, r.cfg.Rounds)
	fmt.Fprintf(w, "date       %s\n", r.started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "machine    %s\n", machineLine())
	fmt.Fprintf(w, "server     %s\n", r.serverCmd)
}

func (r streamsReport) print(w io.Writer) {
	n := float64(r.cfg.Streams)
	fmt.Fprintf(w, "\nserver memory  before streams  with streams  per stream\n")
	if r.before.rss > 0 && r.after.rss > 0 {
		fmt.Fprintf(w, "  RSS          %14s  %12s  %10s\n", mib(float64(r.before.rss)), mib(float64(r.after.rss)),
			kib(float64(r.after.rss-r.before.rss)/n))
	} else {
		fmt.Fprintf(w, "  RSS          %14s  %12s  %10s\n", "n/a", "n/a", "n/a")
	}
	fmt.Fprintf(w, "  heap+stack   %14s  %12s  %10s\n", mib(r.before.heapStack()), mib(r.after.heapStack()),
		kib((r.after.heapStack()-r.before.heapStack())/n))
	fmt.Fprintf(w, "    of which stack %10s  %12s  %10s\n", mib(r.before.stackInuse), mib(r.after.stackInuse),
		kib((r.after.stackInuse-r.before.stackInuse)/n))
	fmt.Fprintf(w, "  goroutines   %14.0f  %12.0f  %10.2f\n", r.before.goroutines, r.after.goroutines,
		(r.after.goroutines-r.before.goroutines)/n)

	fmt.Fprintf(w, "\nround  streams  last event   median      p99   cancel  server CPU\n")
	for _, x := range r.rounds {
		fmt.Fprintf(w, "%5d  %7d  %10s  %7s  %7s  %7s  %10s\n", x.n, x.moved, ms(x.last), ms(x.median), ms(x.p99), ms(x.cancelRTT), cpuMS(x.cpu, x.cpuOK))
	}
	of := func(f func(roundResult) time.Duration) time.Duration {
		ds := make([]time.Duration, len(r.rounds))
		for i, x := range r.rounds {
			ds[i] = f(x)
		}
		return medianDuration(ds)
	}
	cpuOK := !slices.ContainsFunc(r.rounds, func(x roundResult) bool { return !x.cpuOK })
	fmt.Fprintf(w, "median  %6s  %10s  %7s  %7s  %7s  %10s\n", "",
		ms(of(func(x roundResult) time.Duration { return x.last })),
		ms(of(func(x roundResult) time.Duration { return x.median })),
		ms(of(func(x roundResult) time.Duration { return x.p99 })),
		ms(of(func(x roundResult) time.Duration { return x.cancelRTT })),
		cpuMS(of(func(x roundResult) time.Duration { return x.cpu }), cpuOK))
	fmt.Fprintf(w, "\ntimes are from the moment the cancel was sent to each stream's event, as read by this process;\n")
	fmt.Fprintf(w, "\"last event\" is the delay until the last of the streams had it.\n")
	fmt.Fprintf(w, "CPU over all rounds, %s pauses included: server %s, this process %s; server goroutines after them: %.0f\n",
		r.cfg.Pause, cpuMS(r.roundsCPU, r.roundsCPUOK), cpuMS(r.benchCPU, r.benchCPUOK), r.during.goroutines)
}

// medianDuration is the median of ds (the mean of the middle two for an
// even count); ds is not changed.
func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func cpuMS(d time.Duration, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/(1<<10)) }

// machineLine is what a reader needs to weigh the figures: cores, processor,
// platform and the load when the run began.
func machineLine() string {
	m := thisMachine()
	parts := []string{fmt.Sprintf("%d cores", m.Cores)}
	if m.CPU != "" {
		parts = append(parts, m.CPU)
	}
	parts = append(parts, m.Platform)
	if m.LoadAvg != "" {
		parts = append(parts, "load "+m.LoadAvg)
	}
	return strings.Join(parts, ", ")
}
