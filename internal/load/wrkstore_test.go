package load

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// storeReport is one round of the baseline, the referee, flashsale on the
// memory store and flashsale on store (with servers servers): 100,000,
// 90,000, 80,000 and 28,000 requests in 10 s.
func storeReport(store string, servers int) WrkReport {
	ms, us := time.Millisecond, time.Microsecond
	cfg := WrkConfig{Self: "/x/flashsale-load", ServerBin: "/x/flashsale", Store: store, Servers: servers, Rounds: 1,
		Duration: 10 * time.Second, Threads: 2, Connections: 64, Inventory: 1000}
	if store == StorePostgres {
		cfg.DSN = "postgres://u:s3cret@127.0.0.1:5432/test?sslmode=disable"
	}
	durable := wrkRunOf(storeName(store, servers), 28000, 40*ms, 50*us)
	durable.Where = "/tmp/flashsale-load-1/sale.db"
	if store == StorePostgres {
		durable.Where = "schema flashsale_load_abcdefghijkl at postgres://u:xxxxx@127.0.0.1:5432/test?sslmode=disable"
	}
	return WrkReport{Config: cfg, Rounds: []WrkRound{{N: 1,
		Baseline: wrkRunOf("baseline", 100000, 10*ms, 20*us),
		Servers:  []WrkRun{wrkRunOf(refereeName, 90000, 12*ms, 20*us), wrkRunOf("flashsale", 80000, 16*ms, 25*us), durable},
	}}}
}

func TestWrkContendersOfEachStore(t *testing.T) {
	for _, tc := range []struct {
		cfg  WrkConfig
		want string
	}{
		{WrkConfig{ServerBin: "s", Store: StoreMemory, Servers: 1}, "referee  1, flashsale memory 1"},
		{WrkConfig{ServerBin: "s", BeforeBin: "b", Store: StoreMemory, Servers: 1}, "referee  1, before memory 1, flashsale memory 1"},
		{WrkConfig{ServerBin: "s", Store: StoreSQLite, Servers: 1}, "referee  1, flashsale memory 1, sqlite sqlite 1"},
		{WrkConfig{ServerBin: "s", BeforeBin: "b", Store: StorePostgres, Servers: 2}, "referee  1, before memory 1, flashsale memory 1, postgres×2 postgres 2"},
	} {
		var got []string
		for _, c := range tc.cfg.contenders() {
			got = append(got, c.name+" "+c.store+" "+string(rune('0'+c.servers)))
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("contenders of %+v: %s, want %s", tc.cfg, g, tc.want)
		}
	}
}

func TestWrkReportWithSQLite(t *testing.T) {
	rep := storeReport(StoreSQLite, 1)
	var out bytes.Buffer
	rep.Rounds[0].printRows(&out, rep.Config.comparisons())
	want := `  baseline                 10000    2.50ms   10.00ms   20.00ms       20.0   1000    99000    n/a  1.00
  referee                   9000    3.00ms   12.00ms   24.00ms       20.0   1000    89000    n/a  1.00
  flashsale                 8000    4.00ms   16.00ms   32.00ms       25.0   1000    79000    n/a  1.00
  sqlite                    2800   10.00ms   40.00ms   80.00ms       50.0   1000    27000    n/a  1.00
  flashsale/baseline        0.80                1.60                 1.25
  flashsale/referee         0.89                1.33                 1.25
  sqlite/flashsale          0.35                2.50                 2.00
  sqlite ran on /tmp/flashsale-load-1/sale.db, removed after the run
`
	if out.String() != want {
		t.Errorf("rows:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	rep.printSummary(&out)
	for _, want := range []string{
		"\n== flashsale/baseline: one round's ratios\n  throughput    0.80  [0.80]  target >= 0.80: meets\n",
		"\n== sqlite/flashsale: one round's ratios, the durable store over the memory store\n" +
			"  throughput    0.35  [0.35]  target >= 0.30: meets\n" +
			"  p99           2.50  [2.50]\n" +
			"  cpu/request   2.00  [2.00]\n",
		"\n               sqlite     2800 req/s, p50 10.00ms, p99 40.00ms, 50.0 µs CPU/request\n",
		"books        balance in all 4 runs",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	rep.printHeader(&out)
	for _, want := range []string{
		"== wrk: flashsale against the hand-written referee and the bare net/http baseline, and flashsale on SQLite against the memory store; 1 round,",
		"\n  sqlite     /x/flashsale " + serverFlags + " --store sqlite --db FILE\n",
		"FILE: sale.db in a folder of its own under ",
		"\n  order      round 1: baseline, referee, flashsale, sqlite\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, out.String())
		}
	}
}

// A ratio printed to two decimals must not look as if it met the target it
// missed.
func TestRatioAgainstTarget(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{{0.2464, "0.246"}, {0.25, "0.25"}, {0.2531, "0.25"}, {0.11, "0.11"}, {0.81, "0.81"}} {
		if got := ratioAgainst(tc.r, targetPostgresThroughput); got != tc.want {
			t.Errorf("ratioAgainst(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
	rep := storeReport(StorePostgres, 1)
	rep.Rounds[0].Servers[2].Figures.Requests = 19710 // 0.2464 of flashsale's 80,000
	var out bytes.Buffer
	rep.printSummary(&out)
	if want := "  throughput   0.246  [0.25]  target >= 0.25: misses\n"; !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
}

func TestWrkReportWithPostgresServers(t *testing.T) {
	rep := storeReport(StorePostgres, 2)
	rep.PostgresLocal = true
	rep.SplitArgs = [][]string{{"-t1", "-c32", "URL1", "--", "m1."}, {"-t1", "-c32", "URL2", "--", "m2."}}
	// PostgreSQL took 0.9 cores from the postgres run, on this machine: the
	// run's own, not a disturbance; the flashsale run was not disturbed.
	pg := &rep.Rounds[0].Servers[2]
	pg.OthersIncludeDB = true
	pg.MachineCPU = pg.ServerCPU + 9*time.Second
	fs := &rep.Rounds[0].Servers[1]
	fs.MachineCPU = fs.ServerCPU

	var out bytes.Buffer
	rep.printHeader(&out)
	for _, want := range []string{
		"and 2 flashsale servers sharing one sale on PostgreSQL against one on the memory store; 1 round,",
		"\n  postgres×2 /x/flashsale " + serverFlags + " --store postgres --dsn DSN (2 servers)\n",
		"DSN: postgres://u:xxxxx@127.0.0.1:5432/test?sslmode=disable with search_path a schema flashsale_load_<random>",
		"\n               wrk -t1 -c32 URL1 -- m1.\n               wrk -t1 -c32 URL2 -- m2.\n",
		"both servers, PostgreSQL and wrk share the CPU",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Errorf("the header shows the password:\n%s", out.String())
	}

	out.Reset()
	rep.Rounds[0].printRows(&out, rep.Config.comparisons())
	for _, want := range []string{
		"\n  postgres×2                2800 ",
		"  27000  0.90*  1.00\n",
		"\n  postgres×2/flashsale      0.35                2.50                 2.00\n",
		"\n  postgres×2 ran on schema flashsale_load_abcdefghijkl at postgres://u:xxxxx@127.0.0.1:5432/test?sslmode=disable, dropped after the run\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rows lack %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	rep.printSummary(&out)
	for _, want := range []string{
		"\n== postgres×2/flashsale: one round's ratios, 2 servers sharing one sale on PostgreSQL over one on the memory store\n" +
			"  throughput    0.35  [0.35]  (no target: the 0.25 target is one server's)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "disturbed") {
		t.Errorf("PostgreSQL's own CPU taken for a disturbance:\n%s", out.String())
	}
	pg.OthersIncludeDB = false
	out.Reset()
	rep.printSummary(&out)
	if !strings.Contains(out.String(), "disturbed    round 1 (0.90 cores)") {
		t.Errorf("a remote database's run with others at 0.9 cores not called disturbed:\n%s", out.String())
	}
}

func TestWrkConfigChecked(t *testing.T) {
	good := WrkConfig{Self: "/bin/true", ServerBin: "/bin/true", Wrk: "wrk", Store: StoreMemory, Servers: 1, Rounds: 1,
		Duration: time.Second, Threads: 2, Connections: 4, Inventory: 10}
	if err := good.Check(); err != nil {
		t.Fatalf("a good configuration: %v", err)
	}
	const dsn = "postgres://u:s3cret@127.0.0.1:5432/test"
	for name, tc := range map[string]struct {
		mod  func(*WrkConfig)
		want string
	}{
		"no server":          {func(c *WrkConfig) { c.ServerBin = "" }, "server binary are required"},
		"part second":        {func(c *WrkConfig) { c.Duration = 1500 * time.Millisecond }, "want whole seconds"},
		"part second warm":   {func(c *WrkConfig) { c.Warmup = 500 * time.Millisecond }, "warm-up 500ms"},
		"threads over conn":  {func(c *WrkConfig) { c.Threads, c.Connections = 4, 2 }, "a connection per thread"},
		"no rounds":          {func(c *WrkConfig) { c.Rounds = 0 }, "0 rounds"},
		"unknown store":      {func(c *WrkConfig) { c.Store = "redis" }, `store "redis": want memory, sqlite or postgres`},
		"postgres, no dsn":   {func(c *WrkConfig) { c.Store = StorePostgres }, "store postgres needs the DSN"},
		"bad dsn":            {func(c *WrkConfig) { c.Store, c.DSN = StorePostgres, "postgres://u:s3cret@h:port/db" }, "the PostgreSQL DSN postgres://u:xxxxx@"},
		"dsn without store":  {func(c *WrkConfig) { c.DSN = dsn }, "a PostgreSQL DSN is for store postgres"},
		"db dir, no sqlite":  {func(c *WrkConfig) { c.DBDir = "/tmp" }, "is for store sqlite"},
		"servers on sqlite":  {func(c *WrkConfig) { c.Store, c.Servers = StoreSQLite, 2 }, "servers share a sale only on store postgres"},
		"no servers":         {func(c *WrkConfig) { c.Store, c.DSN, c.Servers = StorePostgres, dsn, 0 }, "0 servers"},
		"threads below them": {func(c *WrkConfig) { c.Store, c.DSN, c.Servers = StorePostgres, dsn, 3 }, "2 threads for 3 servers"},
		"negative inventory": {func(c *WrkConfig) { c.Inventory = -1 }, "inventory -1"},
	} {
		c := good
		tc.mod(&c)
		err := c.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %s", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
	// Wrk itself refuses what Check refuses, and says when wrk is missing.
	c := good
	c.Wrk = "/nonexistent/wrk"
	if _, err := Wrk(t.Context(), c); err == nil || !strings.Contains(err.Error(), "apt-get install -y wrk") {
		t.Errorf("no wrk: err = %v, want it to say how to install wrk", err)
	}
	c = good
	c.Store = "redis"
	if _, err := Wrk(t.Context(), c); err == nil || !strings.Contains(err.Error(), `store "redis"`) {
		t.Errorf("unknown store: err = %v", err)
	}
}
