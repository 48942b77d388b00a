package load

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The wrk comparison's targets, full stack over baseline: reported, never
// asserted. (Compare's own throughput target, targetThroughput, is older
// and lower.)
const (
	wrkTargetThroughput = 0.80 // at least
	wrkTargetP99        = 2.0  // at most
	wrkTargetCPU        = 1.25 // CPU per request, at most
)

// WrkReport is what WrkCompare measured.
type WrkReport struct {
	Config  WrkConfig
	Machine Machine
	// WrkArgs is wrk's command line for a measured run, with URL for the
	// server's address and the script's file name alone.
	WrkArgs []string
	Rounds  []WrkRound
}

// WrkRound is one baseline run and each contender's run after it.
type WrkRound struct {
	N        int
	Baseline WrkRun
	// Servers are the contenders' runs in the report's order (before, then
	// flashsale), whatever order they ran in.
	Servers []WrkRun
}

// WrkRatios are the real server's figures over the baseline's: throughput
// (higher is better), p99 latency and CPU per request (lower is better).
// CPU is zero when the server CPU could not be read.
type WrkRatios struct {
	Throughput, P99, CPU float64
}

// Ratios compares contender i's run with the round's baseline run.
func (r WrkRound) Ratios(i int) WrkRatios {
	s := r.Servers[i]
	return WrkRatios{
		Throughput: ratio(s.Figures.Throughput(), r.Baseline.Figures.Throughput()),
		P99:        ratio(float64(s.Figures.P99), float64(r.Baseline.Figures.P99)),
		CPU:        ratio(s.CPUPerRequest(), r.Baseline.CPUPerRequest()),
	}
}

// Overall is the median over the rounds of contender i's ratio in each.
// Each round pairs runs a few seconds apart, so its ratio sees the same
// machine; the median then drops a round that something else on the
// machine disturbed, which a mean would not.
func (rep WrkReport) Overall(i int) WrkRatios {
	var t, p, c []float64
	for _, r := range rep.Rounds {
		rs := r.Ratios(i)
		t, p, c = append(t, rs.Throughput), append(p, rs.P99), append(c, rs.CPU)
	}
	return WrkRatios{Throughput: median(t), P99: median(p), CPU: median(c)}
}

// Meets says, for each target, whether the ratios meet it.
func (r WrkRatios) Meets() (throughput, p99, cpu bool) {
	return r.Throughput >= wrkTargetThroughput, r.P99 <= wrkTargetP99, r.CPU > 0 && r.CPU <= wrkTargetCPU
}

// median of xs, the mean of the middle two for an even count; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func (rep WrkReport) printHeader(w io.Writer) {
	c, m := rep.Config, rep.Machine
	cs := c.contenders()
	what, rounds := "flashsale", "1 round"
	if len(cs) > 1 {
		what = "flashsale and an earlier build of it (before)"
	}
	if c.Rounds != 1 {
		rounds = fmt.Sprintf("%d rounds alternating", c.Rounds)
	}
	fmt.Fprintf(w, "== wrk: %s against the bare net/http baseline, %s, each run a fresh process and a fresh sale\n", what, rounds)
	fmt.Fprintf(w, "  date       %s\n", m.Date.UTC().Format("2006-01-02 15:04 MST"))
	machine := fmt.Sprintf("%d cores", m.Cores)
	if m.CPU != "" {
		machine += ", " + m.CPU
	}
	machine += ", " + m.Platform
	if m.LoadAvg != "" {
		machine += "; load average " + m.LoadAvg + " at the start"
	}
	fmt.Fprintf(w, "  machine    %s\n", machine)
	if m.Wrk != "" {
		fmt.Fprintf(w, "  wrk        %s\n", m.Wrk)
	}
	fmt.Fprintf(w, "  command    wrk %s\n", strings.Join(rep.WrkArgs, " "))
	warm := "no warm-up"
	if c.Warmup > 0 {
		warm = fmt.Sprintf("a %s warm-up of the same (discarded)", wrkSeconds(c.Warmup))
	}
	fmt.Fprintf(w, "  each run   POST /initialize {\"total_inventory\":%d,\"reset\":true}, %s, /initialize again, then the measured run;\n", c.Inventory, warm)
	fmt.Fprintf(w, "             every request POST /reserve by a new user; server CPU from /proc over the measured run only\n")
	fmt.Fprintf(w, "  columns    cpu µs/req: the server process's CPU per completed request; 201, 202: answers counted by the script;\n")
	fmt.Fprintf(w, "             others: cores that processes other than the server and wrk used during the run (from /proc/stat);\n")
	fmt.Fprintf(w, "             load: the 1-minute load average before the run, the previous runs included\n")
	fmt.Fprintf(w, "  %-10s %s baseline\n", "baseline", c.Self)
	for _, s := range cs {
		fmt.Fprintf(w, "  %-10s %s %s (memory store)\n", s.name, s.bin, serverFlags)
	}
	// With one contender the order goes without saying.
	if len(cs) > 1 {
		fmt.Fprintf(w, "  %-10s %s\n", "order", wrkOrders(c.Rounds, cs))
	}
}

// wrkOrders says in which order the rounds run the servers, grouping the
// rounds that share one: "rounds 1, 3: baseline, before, flashsale; round
// 2: baseline, flashsale, before".
func wrkOrders(rounds int, cs []wrkContender) string {
	var orders []string         // each order once, as first used
	of := map[string][]string{} // the rounds that use an order
	for n := 1; n <= rounds; n++ {
		names := []string{"baseline"}
		for _, i := range wrkOrder(len(cs), n) {
			names = append(names, cs[i].name)
		}
		o := strings.Join(names, ", ")
		if of[o] == nil {
			orders = append(orders, o)
		}
		of[o] = append(of[o], strconv.Itoa(n))
	}
	parts := make([]string, len(orders))
	for i, o := range orders {
		which := "round "
		if len(of[o]) > 1 {
			which = "rounds "
		}
		parts[i] = which + strings.Join(of[o], ", ") + ": " + o
	}
	return strings.Join(parts, "; ")
}

// The round table's columns; the ratio row puts each ratio under its figure.
const (
	wrkRowFormat   = "  %-18s %9s %9s %9s %9s %10s %6s %8s %6s %5s\n"
	wrkRatioFormat = "  %-18s %9s %9s %9s %9s %10s\n"
)

func printRoundHeader(w io.Writer, n, of int) {
	fmt.Fprintf(w, "\n"+wrkRowFormat, fmt.Sprintf("round %d of %d", n, of), "req/s", "p50", "p99", "p99.9", "cpu µs/req", "201", "202", "others", "load")
}

func (r WrkRun) printRow(w io.Writer) {
	f := r.Figures
	cpu := "n/a"
	if r.CPUPerRequest() > 0 {
		cpu = fmt.Sprintf("%.1f", r.CPUPerRequest())
	}
	others := "n/a"
	if c := r.OthersCores(); c >= 0 {
		others = fmt.Sprintf("%.2f", c)
	}
	fmt.Fprintf(w, wrkRowFormat, r.Server, fmt.Sprintf("%.0f", f.Throughput()), latency(f.P50), latency(f.P99), latency(f.P999),
		cpu, fmt.Sprint(f.Created), fmt.Sprint(f.Waitlisted), others, r.LoadAvg)
}

// printRows prints the round's runs in the report's order, then each
// contender's ratios to the baseline.
func (r WrkRound) printRows(w io.Writer) {
	r.Baseline.printRow(w)
	for _, s := range r.Servers {
		s.printRow(w)
	}
	for i, s := range r.Servers {
		r.Ratios(i).printRow(w, s.Server+"/baseline")
	}
}

func (r WrkRatios) printRow(w io.Writer, label string) {
	fmt.Fprintf(w, wrkRatioFormat, label, fmt.Sprintf("%.2f", r.Throughput), "", fmt.Sprintf("%.2f", r.P99), "", cpuRatio(r.CPU))
}

func cpuRatio(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r)
}

// latency prints a latency in µs below a millisecond, else in ms to 10 µs,
// so that a column's figures line up.
func latency(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func (rep WrkReport) printSummary(w io.Writer) {
	cs := rep.Config.contenders()
	for i, c := range cs {
		rep.printTargets(w, i, c.name)
	}
	fmt.Fprintf(w, "  medians      %s\n", rep.medianLine("baseline", func(r WrkRound) WrkRun { return r.Baseline }))
	for i, c := range cs {
		fmt.Fprintf(w, "               %s\n", rep.medianLine(c.name, func(r WrkRound) WrkRun { return r.Servers[i] }))
	}
	if d := rep.disturbed(); d != "" {
		fmt.Fprintf(w, "  disturbed    %s: other processes took CPU from these runs; their ratios are the machine's as much as the servers'\n", d)
	}
	fmt.Fprintf(w, "  books        balance in all %d runs; every answer a 201 or a 202, no socket errors\n", (1+len(cs))*len(rep.Rounds))
}

// printTargets prints contender i's median ratios, named name, against the
// targets.
func (rep WrkReport) printTargets(w io.Writer, i int, name string) {
	o := rep.Overall(i)
	mt, mp, mc := o.Meets()
	var t, p, c []string
	for _, r := range rep.Rounds {
		rs := r.Ratios(i)
		t, p, c = append(t, fmt.Sprintf("%.2f", rs.Throughput)), append(p, fmt.Sprintf("%.2f", rs.P99)), append(c, cpuRatio(rs.CPU))
	}
	meets := func(ok bool) string {
		if ok {
			return "meets"
		}
		return "misses"
	}
	if len(rep.Rounds) == 1 {
		fmt.Fprintf(w, "\n== %s/baseline: one round's ratios\n", name)
	} else {
		fmt.Fprintf(w, "\n== %s/baseline: the median of the %d rounds' ratios (each round's in brackets)\n", name, len(rep.Rounds))
	}
	fmt.Fprintf(w, "  throughput   %5.2f  [%s]  target >= %.2f: %s\n", o.Throughput, strings.Join(t, " "), wrkTargetThroughput, meets(mt))
	fmt.Fprintf(w, "  p99          %5.2f  [%s]  target <= %.2f: %s\n", o.P99, strings.Join(p, " "), wrkTargetP99, meets(mp))
	if o.CPU > 0 {
		fmt.Fprintf(w, "  cpu/request  %5.2f  [%s]  target <= %.2f: %s\n", o.CPU, strings.Join(c, " "), wrkTargetCPU, meets(mc))
	} else {
		fmt.Fprintf(w, "  cpu/request    n/a  (no /proc to read the servers' CPU from)  target <= %.2f\n", wrkTargetCPU)
	}
}

// disturbedCores is how much CPU others may use during a run before the
// report says so: a tenth of a core, beyond the kernel's own.
const disturbedCores = 0.10

// disturbed lists the rounds in which others used more than
// disturbedCores during any of its runs, with the most they used: "round 2
// (0.31 cores), round 3 (0.99 cores)"; "" for none.
func (rep WrkReport) disturbed() string {
	var rounds []string
	for _, r := range rep.Rounds {
		most := r.Baseline.OthersCores()
		for _, s := range r.Servers {
			most = max(most, s.OthersCores())
		}
		if most > disturbedCores {
			rounds = append(rounds, fmt.Sprintf("round %d (%.2f cores)", r.N, most))
		}
	}
	return strings.Join(rounds, ", ")
}

// medianLine is one server's median figures over the rounds.
func (rep WrkReport) medianLine(name string, of func(WrkRound) WrkRun) string {
	var rps, p50, p99, cpu []float64
	for _, r := range rep.Rounds {
		run := of(r)
		rps = append(rps, run.Figures.Throughput())
		p50 = append(p50, float64(run.Figures.P50))
		p99 = append(p99, float64(run.Figures.P99))
		cpu = append(cpu, run.CPUPerRequest())
	}
	line := fmt.Sprintf("%-9s %.0f req/s, p50 %s, p99 %s", name, median(rps), latency(time.Duration(median(p50))), latency(time.Duration(median(p99))))
	if m := median(cpu); m > 0 {
		line += fmt.Sprintf(", %.1f µs CPU/request", m)
	}
	return line
}
