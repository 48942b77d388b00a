package load

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// WrkReport is what Wrk measured.
type WrkReport struct {
	Config  WrkConfig
	Machine Machine
	// WrkArgs is wrk's command line for a measured run, with URL for the
	// server's address and the script's file name alone; SplitArgs, for
	// several servers sharing a sale, each of their wrk processes' (URL1,
	// URL2, …).
	WrkArgs   []string
	SplitArgs [][]string
	// PostgresLocal: the PostgreSQL server runs on this machine, sharing
	// its CPU with the servers and wrk.
	PostgresLocal bool
	Rounds        []WrkRound
}

// WrkRound is one baseline run and each contender's run after it.
type WrkRound struct {
	N        int
	Baseline WrkRun
	// Servers are the contenders' runs in the report's order (referee,
	// before, flashsale, then the durable store's), whatever order they
	// ran in.
	Servers []WrkRun
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

func (rep WrkReport) printHeader(w io.Writer) {
	c, m := rep.Config, rep.Machine
	cs := c.contenders()
	what, rounds := "flashsale", "1 round"
	if c.BeforeBin != "" {
		what = "flashsale and an earlier build of it (before)"
	}
	if c.Rounds != 1 {
		rounds = fmt.Sprintf("%d rounds alternating", c.Rounds)
	}
	store := ""
	if c.DeadWebhook {
		store = ", and flashsale with a dead webhook endpoint against it without one"
	}
	switch {
	case c.Store == StoreSQLite:
		store += ", and flashsale on SQLite against the memory store"
	case c.Store == StorePostgres && c.Servers == 1:
		store += ", and flashsale on PostgreSQL against the memory store"
	case c.Store == StorePostgres:
		store += fmt.Sprintf(", and %d flashsale servers sharing one sale on PostgreSQL against one on the memory store", c.Servers)
	}
	fmt.Fprintf(w, "== wrk: %s against the hand-written referee and the bare net/http baseline%s; %s, each run a fresh process and a fresh sale\n", what, store, rounds)
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
	fmt.Fprintf(w, "             every request POST /reserve by a new user, with no token, answered with their new shopper_token\n")
	fmt.Fprintf(w, "             (the baseline and the referee sign one too); server CPU from /proc over the measured run only;\n")
	fmt.Fprintf(w, "             then GET /status, whose books must agree with what wrk counted\n")
	fmt.Fprintf(w, "  columns    cpu µs/req: the server process's CPU per completed request; 201, 202: answers counted by the script;\n")
	fmt.Fprintf(w, "             others: cores that processes other than the server and wrk used during the run (from /proc/stat);\n")
	fmt.Fprintf(w, "             load: the 1-minute load average before the run, the previous runs included\n")
	if c.Store == StorePostgres {
		fmt.Fprintf(w, "             (postgres: the servers' CPU, not PostgreSQL's; a PostgreSQL on this machine is among the others, marked *)\n")
	}
	fmt.Fprintf(w, "  %-10s %s baseline\n", "baseline", c.Self)
	for _, ct := range cs {
		switch {
		case ct.name == refereeName:
			fmt.Fprintf(w, "  %-10s %s %s\n", ct.name, ct.bin, strings.Join(ct.args, " "))
			fmt.Fprintf(w, "  %-10s issue 28's correct hand-written server: one mutex, a map of users, a FIFO line, holds that\n", "")
			fmt.Fprintf(w, "  %-10s expire, one unit per user, encoding/json; no spec, validation library, metrics, logging or limits\n", "")
		case ct.deadHook:
			url, file := "URL", "FILE"
			if c.deadHook != nil {
				url = c.deadHook.url
			}
			fmt.Fprintf(w, "  %-10s %s %s --webhook-url %s --webhook-secret-file %s (memory store)\n", ct.name, ct.bin, strings.Join(ct.args, " "), url, file)
			fmt.Fprintf(w, "  %-10s a loopback port this tool holds bound and never listens on: every call is refused at once,\n", "")
			fmt.Fprintf(w, "  %-10s and the server retries the first event with backoff (1 s, doubling) and keeps every later one;\n", "")
			fmt.Fprintf(w, "  %-10s FILE: a fresh whsec_ secret of 32 random bytes; after each run GET /webhooks must show the\n", "")
			fmt.Fprintf(w, "  %-10s endpoint failing and nothing delivered\n", "")
		case ct.store == StoreMemory:
			fmt.Fprintf(w, "  %-10s %s %s (memory store)\n", ct.name, ct.bin, strings.Join(ct.args, " "))
		case ct.store == StoreSQLite:
			fmt.Fprintf(w, "  %-10s %s %s --store sqlite --db FILE\n", ct.name, ct.bin, strings.Join(ct.args, " "))
			dir := c.DBDir
			if dir == "" {
				dir = os.TempDir()
			}
			fmt.Fprintf(w, "  %-10s FILE: sale.db in a folder of its own under %s for each run, removed after it;\n", "", dir)
			fmt.Fprintf(w, "  %-10s every change committed (fsync) before it is answered\n", "")
		case ct.store == StorePostgres:
			n := ""
			if ct.servers > 1 {
				n = fmt.Sprintf(" (%d servers)", ct.servers)
			}
			fmt.Fprintf(w, "  %-10s %s %s --store postgres --dsn DSN%s\n", ct.name, ct.bin, strings.Join(ct.args, " "), n)
			fmt.Fprintf(w, "  %-10s DSN: %s with search_path a schema %s<random> made for each run and dropped after it;\n", "", redactDSN(c.DSN), pgSchemaPrefix)
			fmt.Fprintf(w, "  %-10s every change committed before it is answered\n", "")
			if ct.servers > 1 {
				rep.printSplit(w, ct.servers)
			}
		}
	}
	// With one contender the order goes without saying.
	if len(cs) > 1 {
		fmt.Fprintf(w, "  %-10s %s\n", "order", wrkOrders(c.Rounds, cs))
	}
}

// printSplit says how the load of several servers sharing a sale is sent.
func (rep WrkReport) printSplit(w io.Writer, servers int) {
	fmt.Fprintf(w, "  %-10s the servers share the sale; each gets a wrk process of its own, all at once, with user ids of its own:\n", "")
	for _, args := range rep.SplitArgs {
		fmt.Fprintf(w, "  %-10s   wrk %s\n", "", strings.Join(args, " "))
	}
	fmt.Fprintf(w, "  %-10s their requests, errors and answers added up, over the longest one's duration; each latency\n", "")
	fmt.Fprintf(w, "  %-10s percentile the highest of theirs (the whole load's is at most that); every server's /status must agree\n", "")
	if share := sharedCPU(servers, rep.PostgresLocal); share != "" {
		fmt.Fprintf(w, "  %-10s %s\n", "", share)
	}
}

// sharedCPU says who shares this machine's cores during a run with
// several servers, whose figures are those of the whole machine, not of
// one server; "" for one server.
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
	return fmt.Sprintf("on this %d-core machine %s and wrk share the CPU", runtime.NumCPU(), who)
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
	wrkRowFormat   = "  %-20s %9s %9s %9s %9s %10s %6s %8s %6s %5s\n"
	wrkRatioFormat = "  %-20s %9s %9s %9s %9s %10s\n"
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
		if r.OthersIncludeDB {
			others += "*"
		}
	}
	fmt.Fprintf(w, wrkRowFormat, r.Server, fmt.Sprintf("%.0f", f.Throughput()), latency(f.P50), latency(f.P99), latency(f.P999),
		cpu, fmt.Sprint(f.Created), fmt.Sprint(f.Waitlisted), others, r.LoadAvg)
}

// printRows prints the round's runs in the report's order, then each
// comparison's ratios, then where the durable store's run kept its sale.
func (r WrkRound) printRows(w io.Writer, cmps []wrkComparison) {
	r.Baseline.printRow(w)
	for _, s := range r.Servers {
		s.printRow(w)
	}
	for _, c := range cmps {
		r.ratios(c).printRow(w, r.label(c))
	}
	for _, c := range cmps {
		if !c.noise {
			continue
		}
		s, ref := r.Servers[c.of], r.run(c.to)
		if ep := s.Webhook; ep != nil {
			fmt.Fprintf(w, "  %s: GET /webhooks after the run: nothing delivered, %d events pending; last error: %s\n", s.Server, ep.Lag, *ep.LastError)
		}
		if s.RSS > 0 && ref.RSS > 0 {
			fmt.Fprintf(w, "  %s: server RSS after the run %s, %s's %s\n", s.Server, mib(float64(s.RSS)), ref.Server, mib(float64(ref.RSS)))
		}
	}
	for _, s := range r.Servers {
		switch {
		case s.Where == "":
		case strings.HasPrefix(s.Where, "schema "):
			fmt.Fprintf(w, "  %s ran on %s, dropped after the run\n", s.Server, s.Where)
		default:
			fmt.Fprintf(w, "  %s ran on %s, removed after the run\n", s.Server, s.Where)
		}
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
	if len(rep.Rounds) == 0 {
		return
	}
	for _, c := range rep.Config.comparisons() {
		rep.printComparison(w, c)
	}
	first := rep.Rounds[0]
	fmt.Fprintf(w, "  medians      %s\n", rep.medianLine(func(r WrkRound) WrkRun { return r.Baseline }))
	for i := range first.Servers {
		fmt.Fprintf(w, "               %s\n", rep.medianLine(func(r WrkRound) WrkRun { return r.Servers[i] }))
	}
	if d := rep.disturbed(); d != "" {
		fmt.Fprintf(w, "  disturbed    %s: other processes took CPU from these runs; their ratios are the machine's as much as the servers'\n", d)
	}
	fmt.Fprintf(w, "  books        balance in all %d runs; every answer a 201 or a 202, no socket errors\n", (1+len(first.Servers))*len(rep.Rounds))
}

// printComparison prints a comparison's median ratios, and each round's,
// against its targets.
func (rep WrkReport) printComparison(w io.Writer, c wrkComparison) {
	o := rep.overall(c)
	var t, p, cpu []string
	for _, r := range rep.Rounds {
		rs := r.ratios(c)
		t, p, cpu = append(t, fmt.Sprintf("%.2f", rs.Throughput)), append(p, fmt.Sprintf("%.2f", rs.P99)), append(cpu, cpuRatio(rs.CPU))
	}
	what := ""
	if c.what != "" {
		what = ", " + c.what
	}
	if len(rep.Rounds) == 1 {
		fmt.Fprintf(w, "\n== %s: one round's ratios%s\n", rep.Rounds[0].label(c), what)
	} else {
		fmt.Fprintf(w, "\n== %s: the median of the %d rounds' ratios (each round's in brackets)%s\n", rep.Rounds[0].label(c), len(rep.Rounds), what)
	}
	atLeast := func(r, target float64) string {
		if target == 0 {
			return ""
		}
		return fmt.Sprintf("  target >= %.2f: %s", target, meets(r >= target))
	}
	atMost := func(r, target float64) string {
		if target == 0 {
			return ""
		}
		return fmt.Sprintf("  target <= %.2f: %s", target, meets(r > 0 && r <= target))
	}
	tp := atLeast(o.Throughput, c.targets.throughput)
	shown := fmt.Sprintf("%5.2f", o.Throughput)
	if c.targets.throughput > 0 {
		shown = fmt.Sprintf("%5s", ratioAgainst(o.Throughput, c.targets.throughput))
	}
	if c.noTarget != "" {
		tp = "  (" + c.noTarget + ")"
	}
	fmt.Fprintf(w, "  throughput   %s  [%s]%s\n", shown, strings.Join(t, " "), tp)
	fmt.Fprintf(w, "  p99          %5.2f  [%s]%s\n", o.P99, strings.Join(p, " "), atMost(o.P99, c.targets.p99))
	if o.CPU > 0 {
		fmt.Fprintf(w, "  cpu/request  %5.2f  [%s]%s\n", o.CPU, strings.Join(cpu, " "), atMost(o.CPU, c.targets.cpu))
	} else {
		fmt.Fprintf(w, "  cpu/request    n/a  (no /proc to read the servers' CPU from)\n")
	}
	if c.noise {
		rep.printNoise(w, c, o)
	}
}

func meets(ok bool) string {
	if ok {
		return "meets"
	}
	return "misses"
}

// disturbedCores is how much CPU others may use during a run before the
// report says so: a tenth of a core, beyond the kernel's own.
const disturbedCores = 0.10

// disturbed lists the rounds in which others used more than
// disturbedCores during any of its runs, with the most they used: "round 2
// (0.31 cores), round 3 (0.99 cores)"; "" for none. A run whose others
// include its own database (PostgreSQL on this machine) is left out.
func (rep WrkReport) disturbed() string {
	var rounds []string
	for _, r := range rep.Rounds {
		most := -1.0
		for _, run := range append([]WrkRun{r.Baseline}, r.Servers...) {
			if !run.OthersIncludeDB {
				most = max(most, run.OthersCores())
			}
		}
		if most > disturbedCores {
			rounds = append(rounds, fmt.Sprintf("round %d (%.2f cores)", r.N, most))
		}
	}
	return strings.Join(rounds, ", ")
}

// medianLine is one contender's median figures over the rounds.
func (rep WrkReport) medianLine(of func(WrkRound) WrkRun) string {
	var rps, p50, p99, cpu []float64
	for _, r := range rep.Rounds {
		run := of(r)
		rps = append(rps, run.Figures.Throughput())
		p50 = append(p50, float64(run.Figures.P50))
		p99 = append(p99, float64(run.Figures.P99))
		cpu = append(cpu, run.CPUPerRequest())
	}
	line := fmt.Sprintf("%-10s %.0f req/s, p50 %s, p99 %s", of(rep.Rounds[0]).Server, median(rps), latency(time.Duration(median(p50))), latency(time.Duration(median(p99))))
	if m := median(cpu); m > 0 {
		line += fmt.Sprintf(", %.1f µs CPU/request", m)
	}
	return line
}
