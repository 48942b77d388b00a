package load

import (
	"bytes"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// deadHookReport is three rounds of the baseline, the referee, flashsale
// and flashsale with a dead webhook endpoint: flashsale at 9,000, 10,000 and 11,000
// req/s, the dead hook at 9,500, 10,000 and 9,000 (ratios 1.06, 1.00,
// 0.82), its CPU per request 24 µs against 22 µs, its RSS after the run
// 300 MiB against 150 MiB.
func deadHookReport() WrkReport {
	ms, us := time.Millisecond, time.Microsecond
	cfg := WrkConfig{Self: "/x/flashsale-load", ServerBin: "/x/flashsale", Store: StoreMemory, Servers: 1, Rounds: 3, DeadWebhook: true,
		deadHook: &deadHook{url: "http://127.0.0.1:4444/hooks", secretFile: "/tmp/flashsale-wrk-1/webhook-secret"}}
	lastError := "POST http://127.0.0.1:4444/hooks: dial tcp 127.0.0.1:4444: connect: connection refused"
	rep := WrkReport{Config: cfg}
	for n, f := range []struct{ plain, dead int64 }{{90000, 95000}, {100000, 100000}, {110000, 90000}} {
		dead := wrkRunOf(deadHookName, f.dead, 15*ms, 24*us)
		dead.Webhook = &generated.WebhookEndpoint{Url: cfg.deadHook.url, Lag: f.dead + 2, LastError: &lastError}
		dead.RSS = 300 << 20
		plain := wrkRunOf("flashsale", f.plain, 15*ms, 22*us)
		plain.RSS = 150 << 20
		rep.Rounds = append(rep.Rounds, WrkRound{N: n + 1,
			Baseline: wrkRunOf("baseline", 120000, 10*ms, 20*us),
			Servers:  []WrkRun{wrkRunOf(refereeName, 100000, 12*ms, 20*us), plain, dead},
		})
	}
	return rep
}

func TestWrkDeadHookContendersAndComparisons(t *testing.T) {
	cfg := deadHookReport().Config
	var got []string
	for _, c := range cfg.contenders() {
		got = append(got, c.name)
	}
	if g := strings.Join(got, ", "); g != "referee, flashsale, dead-hook" {
		t.Errorf("contenders %s, want referee, flashsale, dead-hook", g)
	}
	cmps := cfg.comparisons()
	if len(cmps) != 3 || cmps[0].of != 1 || cmps[0].to != -1 || cmps[1].of != 1 || cmps[1].to != 0 ||
		cmps[2].of != 2 || cmps[2].to != 1 || !cmps[2].noise || cmps[2].targets != (wrkTargets{}) {
		t.Fatalf("comparisons %+v, want flashsale/baseline and flashsale/referee with targets and dead-hook/flashsale judged by noise", cmps)
	}
	// With a durable store and a before build too, each comparison keeps
	// its partner: the durable store and the dead hook against this
	// build's plain run on memory.
	cfg.BeforeBin, cfg.Store = "/x/before", StoreSQLite
	got = nil
	for _, c := range cfg.comparisons() {
		got = append(got, cfg.contenders()[c.of].name+"/"+map[int]string{-1: "baseline", 0: "referee", 1: "before", 2: "flashsale"}[c.to])
	}
	if g := strings.Join(got, ", "); g != "before/baseline, flashsale/baseline, before/referee, flashsale/referee, dead-hook/flashsale, sqlite/flashsale" {
		t.Errorf("comparisons %s", g)
	}
}

func TestWrkDeadHookReport(t *testing.T) {
	rep := deadHookReport()
	var out bytes.Buffer
	rep.printHeader(&out)
	for _, want := range []string{
		"== wrk: flashsale against the hand-written referee and the bare net/http baseline, and flashsale with a dead webhook endpoint against it without one; 3 rounds alternating,",
		"\n  dead-hook  /x/flashsale " + serverFlags + " --webhook-url http://127.0.0.1:4444/hooks --webhook-secret-file FILE (memory store)\n",
		"never listens on: every call is refused",
		"FILE: a fresh whsec_ secret",
		"\n  order      round 1: baseline, referee, flashsale, dead-hook; round 2: baseline, flashsale, dead-hook, referee; round 3: baseline, dead-hook, referee, flashsale\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	rep.Rounds[0].printRows(&out, rep.Config.comparisons())
	want := `  baseline                 12000    2.50ms   10.00ms   20.00ms       20.0   1000   119000    n/a  1.00
  referee                  10000    3.00ms   12.00ms   24.00ms       20.0   1000    99000    n/a  1.00
  flashsale                 9000    3.75ms   15.00ms   30.00ms       22.0   1000    89000    n/a  1.00
  dead-hook                 9500    3.75ms   15.00ms   30.00ms       24.0   1000    94000    n/a  1.00
  flashsale/baseline        0.75                1.50                 1.10
  flashsale/referee         0.90                1.25                 1.10
  dead-hook/flashsale       1.06                1.00                 1.09
  dead-hook: GET /webhooks after the run: nothing delivered, 95002 events pending; last error: POST http://127.0.0.1:4444/hooks: dial tcp 127.0.0.1:4444: connect: connection refused
  dead-hook: server RSS after the run 300.0 MiB, flashsale's 150.0 MiB
`
	if out.String() != want {
		t.Errorf("rows:\n%s\nwant:\n%s", out.String(), want)
	}

	// Throughput: the ratios 1.06, 1.00, 0.82, median 1.00; flashsale's
	// own runs spread 9,000 to 11,000 (0.82–1.22): within noise. CPU: 1.09
	// in every round, and flashsale's CPU per request did not move at
	// all: above the noise.
	out.Reset()
	rep.printSummary(&out)
	for _, want := range []string{
		"\n== dead-hook/flashsale: the median of the 3 rounds' ratios (each round's in brackets), a dead webhook endpoint over none\n" +
			"  throughput    1.00  [1.06 1.00 0.82]  (no target: it must be within noise)\n" +
			"  p99           1.00  [1.00 1.00 1.00]\n" +
			"  cpu/request   1.09  [1.09 1.09 1.09]\n" +
			"  noise        flashsale's own runs over the 3 rounds, one over another: throughput 0.82–1.22, p99 1.00–1.00, cpu/request 1.00–1.00\n" +
			"  verdict      throughput 1.00 within noise, p99 1.00 within noise, cpu/request 1.09 above the noise\n" +
			"  memory       server RSS after the run, the median: dead-hook 300.0 MiB, flashsale 150.0 MiB\n",
		"\n               dead-hook  9500 req/s, p50 3.75ms, p99 15.00ms, 24.0 µs CPU/request\n",
		"books        balance in all 12 runs",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}

	// One round has no spread to judge by, and says so.
	rep.Rounds = rep.Rounds[:1]
	out.Reset()
	rep.printSummary(&out)
	if want := "  noise        one round: no spread of flashsale's own runs to judge the ratios by (run 3 rounds or more)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
}

func TestNoiseBand(t *testing.T) {
	for _, tc := range []struct {
		xs     []float64
		lo, hi float64
		ok     bool
	}{
		{[]float64{8, 10}, 0.8, 1.25, true},
		{[]float64{10, 8, 9}, 0.8, 1.25, true},
		{[]float64{5, 5, 5}, 1, 1, true},
		{[]float64{5, 0}, 0, 0, false}, // a figure that could not be read
		{[]float64{5}, 0, 0, false},
	} {
		lo, hi, ok := noiseBand(tc.xs)
		if ok != tc.ok || !near(lo, tc.lo) || !near(hi, tc.hi) {
			t.Errorf("noiseBand(%v) = %v, %v, %v; want %v, %v, %v", tc.xs, lo, hi, ok, tc.lo, tc.hi, tc.ok)
		}
	}
}

// The dead endpoint's port refuses connections, and while it is held
// nothing else can listen there: a server picked a free port later cannot
// land on it.
func TestDeadHookPortRefusesAndIsHeld(t *testing.T) {
	h, err := newDeadHook(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.release()
	port := strings.TrimSuffix(strings.TrimPrefix(h.url, "http://127.0.0.1:"), "/hooks")
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("url %s", h.url)
	}
	if err := checkDeadPort(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			ln.Close()
			t.Errorf("listened on the held port %s", port)
		}
	}
	if got := h.args(); len(got) != 4 || got[0] != "--webhook-url" || got[1] != h.url || got[2] != "--webhook-secret-file" {
		t.Errorf("args %q", got)
	}

	// A port something listens on is not dead.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := checkDeadPort(t.Context(), ln.Addr().(*net.TCPAddr).Port); err == nil || !strings.Contains(err.Error(), "something listens there") {
		t.Errorf("a listening port: err = %v", err)
	}
}
