package load

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// wrkRunOf makes a WrkRun of n requests over 10 s with the given p99 and server
// CPU per request.
func wrkRunOf(name string, n int64, p99 time.Duration, cpuPerReq time.Duration) WrkRun {
	return WrkRun{
		Server:    name,
		Figures:   WrkFigures{Requests: n, Duration: 10 * time.Second, P50: p99 / 4, P99: p99, P999: 2 * p99, Created: 1000, Waitlisted: n - 1000},
		ServerCPU: time.Duration(n) * cpuPerReq,
		LoadAvg:   "1.00",
	}
}

// memoryOnly is the comparison of a memory-store wrk run: flashsale over
// the baseline and over the referee.
var memoryOnly = WrkConfig{Self: "/x/flashsale-load", ServerBin: "/x/after", Store: StoreMemory, Servers: 1, Rounds: 3}

func TestWrkRatiosAndTheirMedian(t *testing.T) {
	ms := time.Millisecond
	// The referee's p99 is 1.2 times the baseline's: over it, flashsale's
	// p99 ratios are 1.25, 2.5 and 1.5, the others the baseline's.
	referee := wrkRunOf("referee", 100000, 12*ms, 20*time.Microsecond)
	rep := WrkReport{Config: memoryOnly, Rounds: []WrkRound{
		// throughput 0.9, p99 1.5, cpu 1.2
		{N: 1, Baseline: wrkRunOf("baseline", 100000, 10*ms, 20*time.Microsecond), Servers: []WrkRun{referee, wrkRunOf("flashsale", 90000, 15*ms, 24*time.Microsecond)}},
		// a disturbed round: 0.5, 3, 2
		{N: 2, Baseline: wrkRunOf("baseline", 100000, 10*ms, 20*time.Microsecond), Servers: []WrkRun{referee, wrkRunOf("flashsale", 50000, 30*ms, 40*time.Microsecond)}},
		// 0.85, 1.8, 1.3
		{N: 3, Baseline: wrkRunOf("baseline", 100000, 10*ms, 20*time.Microsecond), Servers: []WrkRun{referee, wrkRunOf("flashsale", 85000, 18*ms, 26*time.Microsecond)}},
	}}
	cmps := memoryOnly.comparisons()
	if len(cmps) != 2 || rep.Rounds[0].label(cmps[0]) != "flashsale/baseline" || rep.Rounds[0].label(cmps[1]) != "flashsale/referee" {
		t.Fatalf("comparisons %+v, want flashsale/baseline and flashsale/referee", cmps)
	}
	r1 := rep.Rounds[0].ratios(cmps[0])
	if !near(r1.Throughput, 0.9) || !near(r1.P99, 1.5) || !near(r1.CPU, 1.2) {
		t.Errorf("round 1 ratios %+v, want 0.9, 1.5, 1.2", r1)
	}
	o := rep.overall(cmps[0])
	if !near(o.Throughput, 0.85) || !near(o.P99, 1.8) || !near(o.CPU, 1.3) {
		t.Errorf("medians %+v, want 0.85, 1.8, 1.3: the disturbed round dropped", o)
	}

	// Others took half a core from round 2's server run.
	rep.Rounds[1].Servers[1].MachineCPU = rep.Rounds[1].Servers[1].ServerCPU + 5*time.Second
	var out bytes.Buffer
	rep.printSummary(&out)
	for _, want := range []string{
		"median of the 3 rounds' ratios",
		"throughput    0.85  [0.90 0.50 0.85]  target >= 0.80: meets",
		"p99           1.80  [1.50 3.00 1.80]  target <= 2.00: meets",
		"cpu/request   1.30  [1.20 2.00 1.30]  target <= 1.25: misses",
		"\n== flashsale/referee: the median of the 3 rounds' ratios (each round's in brackets), issue 28's targets, against a correct hand-written server\n" +
			"  throughput    0.85  [0.90 0.50 0.85]  target >= 0.90: misses\n" +
			"  p99           1.50  [1.25 2.50 1.50]  target <= 1.30: misses\n" +
			"  cpu/request   1.30  [1.20 2.00 1.30]  target <= 1.15: misses\n",
		"baseline   10000 req/s, p50 2.50ms, p99 10.00ms, 20.0 µs CPU/request",
		"\n               referee    10000 req/s, p50 3.00ms, p99 12.00ms, 20.0 µs CPU/request\n",
		"balance in all 9 runs",
		"disturbed    round 2 (0.50 cores): other processes took CPU",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestWrkRoundRows(t *testing.T) {
	var out bytes.Buffer
	printRoundHeader(&out, 1, 3)
	base := wrkRunOf("baseline", 300000, 8930*time.Microsecond, 28*time.Microsecond)
	base.Figures.P50 = 750 * time.Microsecond
	// 10 s: the server's 8.4 s, wrk's 9 s, and others' 0.3 s.
	base.WrkCPU, base.MachineCPU = 9*time.Second, 17700*time.Millisecond
	noCPU := wrkRunOf("flashsale", 250000, 12*time.Millisecond, 0)
	referee := wrkRunOf("referee", 280000, 10*time.Millisecond, 25*time.Microsecond)
	WrkRound{Baseline: base, Servers: []WrkRun{referee, noCPU}}.printRows(&out, memoryOnly.comparisons())
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := []string{
		"",
		"  round 1 of 3             req/s       p50       p99     p99.9 cpu µs/req    201      202 others  load",
		"  baseline                 30000     750µs    8.93ms   17.86ms       28.0   1000   299000   0.03  1.00",
		"  referee                  28000    2.50ms   10.00ms   20.00ms       25.0   1000   279000    n/a  1.00",
		"  flashsale                25000    3.00ms   12.00ms   24.00ms        n/a   1000   249000    n/a  1.00",
		"  flashsale/baseline        0.83                1.34                  n/a",
		"  flashsale/referee         0.89                1.20                  n/a",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// threeServerReport is three rounds of the baseline, the referee, before
// and flashsale: before at ratios 0.50, 0.60, 0.70 in throughput over the
// baseline, flashsale at 0.90, 0.85, 0.95; the referee at 0.95 of the
// baseline's throughput, its p99 and CPU 1.2 times the baseline's.
func threeServerReport() WrkReport {
	ms, us := time.Millisecond, time.Microsecond
	rep := WrkReport{Config: WrkConfig{Self: "/x/flashsale-load", ServerBin: "/x/after", BeforeBin: "/x/before", Store: StoreMemory, Servers: 1, Rounds: 3}}
	for n, f := range []struct{ before, after int64 }{{50000, 90000}, {60000, 85000}, {70000, 95000}} {
		rep.Rounds = append(rep.Rounds, WrkRound{N: n + 1,
			Baseline: wrkRunOf("baseline", 100000, 10*ms, 20*us),
			Servers:  []WrkRun{wrkRunOf("referee", 95000, 12*ms, 24*us), wrkRunOf("before", f.before, 30*ms, 40*us), wrkRunOf("flashsale", f.after, 15*ms, 22*us)},
		})
	}
	return rep
}

func TestWrkRoundRowsWithBefore(t *testing.T) {
	var out bytes.Buffer
	rep := threeServerReport()
	rep.Rounds[0].printRows(&out, rep.Config.comparisons())
	want := `  baseline                 10000    2.50ms   10.00ms   20.00ms       20.0   1000    99000    n/a  1.00
  referee                   9500    3.00ms   12.00ms   24.00ms       24.0   1000    94000    n/a  1.00
  before                    5000    7.50ms   30.00ms   60.00ms       40.0   1000    49000    n/a  1.00
  flashsale                 9000    3.75ms   15.00ms   30.00ms       22.0   1000    89000    n/a  1.00
  before/baseline           0.50                3.00                 2.00
  flashsale/baseline        0.90                1.50                 1.10
  before/referee            0.53                2.50                 1.67
  flashsale/referee         0.95                1.25                 0.92
`
	if out.String() != want {
		t.Errorf("rows:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestWrkSummaryWithBefore(t *testing.T) {
	rep := threeServerReport()
	// Others took a fifth of a core from round 3's before run alone.
	rep.Rounds[2].Servers[1].MachineCPU = rep.Rounds[2].Servers[1].ServerCPU + 2*time.Second
	var out bytes.Buffer
	rep.printSummary(&out)
	want := `
== before/baseline: the median of the 3 rounds' ratios (each round's in brackets)
  throughput    0.60  [0.50 0.60 0.70]  target >= 0.80: misses
  p99           3.00  [3.00 3.00 3.00]  target <= 2.00: misses
  cpu/request   2.00  [2.00 2.00 2.00]  target <= 1.25: misses

== flashsale/baseline: the median of the 3 rounds' ratios (each round's in brackets)
  throughput    0.90  [0.90 0.85 0.95]  target >= 0.80: meets
  p99           1.50  [1.50 1.50 1.50]  target <= 2.00: meets
  cpu/request   1.10  [1.10 1.10 1.10]  target <= 1.25: meets

== before/referee: the median of the 3 rounds' ratios (each round's in brackets), issue 28's targets, against a correct hand-written server
  throughput    0.63  [0.53 0.63 0.74]  target >= 0.90: misses
  p99           2.50  [2.50 2.50 2.50]  target <= 1.30: misses
  cpu/request   1.67  [1.67 1.67 1.67]  target <= 1.15: misses

== flashsale/referee: the median of the 3 rounds' ratios (each round's in brackets), issue 28's targets, against a correct hand-written server
  throughput    0.95  [0.95 0.89 1.00]  target >= 0.90: meets
  p99           1.25  [1.25 1.25 1.25]  target <= 1.30: meets
  cpu/request   0.92  [0.92 0.92 0.92]  target <= 1.15: meets
  medians      baseline   10000 req/s, p50 2.50ms, p99 10.00ms, 20.0 µs CPU/request
               referee    9500 req/s, p50 3.00ms, p99 12.00ms, 24.0 µs CPU/request
               before     6000 req/s, p50 7.50ms, p99 30.00ms, 40.0 µs CPU/request
               flashsale  9000 req/s, p50 3.75ms, p99 15.00ms, 22.0 µs CPU/request
  disturbed    round 3 (0.20 cores): other processes took CPU from these runs; their ratios are the machine's as much as the servers'
  books        balance in all 12 runs; every answer a 201 or a 202, no socket errors
`
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestWrkHeaderNamesEachServerAndTheOrder(t *testing.T) {
	rep := threeServerReport()
	var out bytes.Buffer
	rep.printHeader(&out)
	for _, want := range []string{
		"== wrk: flashsale and an earlier build of it (before) against the hand-written referee and the bare net/http baseline; 3 rounds alternating,",
		"\n  baseline   /x/flashsale-load baseline\n" +
			"  referee    /x/flashsale-load referee\n",
		"no spec, validation library, metrics, logging or limits\n" +
			"  before     /x/before --rate-limit 1000000 --rate-burst 1000000 --new-shopper-rate 0 --log-level info (memory store)\n" +
			"  flashsale  /x/after --rate-limit 1000000 --rate-burst 1000000 --new-shopper-rate 0 --log-level info (memory store)\n" +
			"  order      round 1: baseline, referee, before, flashsale; round 2: baseline, before, flashsale, referee; round 3: baseline, flashsale, referee, before\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, out.String())
		}
	}

	// A build from before the limit on new users is started without the
	// flag it does not know, and the header says so.
	rep.Config.beforeUnlimited = true
	out.Reset()
	rep.printHeader(&out)
	if want := "\n  before     /x/before --rate-limit 1000000 --rate-burst 1000000 --log-level info (memory store)\n" +
		"  flashsale  /x/after --rate-limit 1000000 --rate-burst 1000000 --new-shopper-rate 0 --log-level info (memory store)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("header lacks %q:\n%s", want, out.String())
	}

	rep.Config.BeforeBin = ""
	out.Reset()
	rep.printHeader(&out)
	if s := out.String(); strings.Contains(s, "\n  before ") ||
		!strings.HasSuffix(s, "\n  flashsale  /x/after --rate-limit 1000000 --rate-burst 1000000 --new-shopper-rate 0 --log-level info (memory store)\n"+
			"  order      rounds 1, 3: baseline, referee, flashsale; round 2: baseline, flashsale, referee\n") {
		t.Errorf("without a before build the header should end with the flashsale line and the order of the referee and flashsale:\n%s", s)
	}
}

func TestWrkOrderRotates(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want []int
	}{{1, 1, []int{0}}, {1, 2, []int{0}}, {2, 1, []int{0, 1}}, {2, 2, []int{1, 0}}, {2, 3, []int{0, 1}}, {3, 2, []int{1, 2, 0}}} {
		if got := wrkOrder(tc.k, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("wrkOrder(%d, %d) = %v, want %v", tc.k, tc.n, got, tc.want)
		}
	}
	if got, want := wrkOrders(1, []wrkContender{{name: "before"}, {name: "flashsale"}}), "round 1: baseline, before, flashsale"; got != want {
		t.Errorf("one round's order %q, want %q", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1}, 2}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
