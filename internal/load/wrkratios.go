package load

import (
	"fmt"
	"slices"
)

// The comparison's targets: reported, never asserted.
const (
	// The full stack over the baseline, on the memory store.
	wrkTargetThroughput = 0.80 // at least
	wrkTargetP99        = 2.0  // at most
	wrkTargetCPU        = 1.25 // CPU per request, at most
	// The full stack over the correct hand-written referee: issue 28's.
	refereeTargetThroughput = 0.90 // at least
	refereeTargetP99        = 1.3  // at most
	refereeTargetCPU        = 1.15 // CPU per request, at most
	// A durable store's throughput over the memory store's: issue 9's for
	// SQLite, and the PostgreSQL store's for one server (several servers
	// on one database are reported as they are).
	targetSQLiteThroughput   = 0.30 // at least
	targetPostgresThroughput = 0.25 // at least
)

// WrkRatios are one run's figures over another's: throughput (higher is
// better), p99 latency and CPU per request (lower is better). CPU is zero
// when the servers' CPU could not be read.
type WrkRatios struct {
	Throughput, P99, CPU float64
}

func ratiosOf(of, to WrkRun) WrkRatios {
	return WrkRatios{
		Throughput: ratio(of.Figures.Throughput(), to.Figures.Throughput()),
		P99:        ratio(float64(of.Figures.P99), float64(to.Figures.P99)),
		CPU:        ratio(of.CPUPerRequest(), to.CPUPerRequest()),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// wrkTargets are the bounds a comparison's ratios are reported against;
// zero is no target.
type wrkTargets struct {
	throughput, p99, cpu float64
}

// wrkComparison is one ratio the report gives in every round and as a
// median: contender of's figures over contender to's (indexes into
// WrkRound.Servers; to -1 is the baseline).
type wrkComparison struct {
	of, to  int
	targets wrkTargets
	// what says what is compared, in the summary's heading; noTarget, for
	// a throughput without a target, why there is none.
	what, noTarget string
	// noise: the verdict is whether the ratios lie within the spread of
	// contender to's own runs over the rounds (noiseBand), not a target.
	noise bool
}

// comparisons are the report's ratios: every build on the memory store
// over the baseline, then over the referee, the dead webhook endpoint's run
// over this build's without one, and the durable store over the memory
// store (the memory store's run of this build, from the same round).
func (c WrkConfig) comparisons() []wrkComparison {
	cs := c.contenders()
	var cmps []wrkComparison
	memory, referee := -1, -1
	for i, ct := range cs {
		if ct.name == refereeName {
			referee = i
		}
		if ct.store == StoreMemory && !ct.deadHook {
			cmps = append(cmps, wrkComparison{of: i, to: -1, targets: wrkTargets{wrkTargetThroughput, wrkTargetP99, wrkTargetCPU}})
			memory = i // this build's comes last of the memory store's
		}
	}
	for i, ct := range cs {
		if ct.store == StoreMemory && !ct.deadHook {
			cmps = append(cmps, wrkComparison{of: i, to: referee, what: "issue 28's targets, against a correct hand-written server",
				targets: wrkTargets{refereeTargetThroughput, refereeTargetP99, refereeTargetCPU}})
		}
	}
	for i, ct := range cs {
		if ct.deadHook {
			cmps = append(cmps, wrkComparison{of: i, to: memory, what: "a dead webhook endpoint over none",
				noTarget: "no target: it must be within noise", noise: true})
		}
	}
	if last := len(cs) - 1; cs[last].store != StoreMemory {
		cmp := wrkComparison{of: last, to: memory, what: "the durable store over the memory store"}
		switch {
		case cs[last].store == StoreSQLite:
			cmp.targets.throughput = targetSQLiteThroughput
		case cs[last].servers == 1:
			cmp.targets.throughput = targetPostgresThroughput
		default:
			cmp.what = fmt.Sprintf("%d servers sharing one sale on PostgreSQL over one on the memory store", cs[last].servers)
			cmp.noTarget = fmt.Sprintf("no target: the %.2f target is one server's", targetPostgresThroughput)
		}
		cmps = append(cmps, cmp)
	}
	return cmps
}

// label names a comparison in the report: "flashsale/baseline",
// "sqlite/flashsale".
func (r WrkRound) label(c wrkComparison) string {
	return r.Servers[c.of].Server + "/" + r.run(c.to).Server
}

func (r WrkRound) run(i int) WrkRun {
	if i < 0 {
		return r.Baseline
	}
	return r.Servers[i]
}

// ratios is the comparison's ratios in this round.
func (r WrkRound) ratios(c wrkComparison) WrkRatios {
	return ratiosOf(r.Servers[c.of], r.run(c.to))
}

// overall is the median over the rounds of the comparison's ratio in each.
// Each round pairs runs a few seconds apart, so its ratio sees the same
// machine; the median then drops a round that something else on the
// machine disturbed, which a mean would not.
func (rep WrkReport) overall(c wrkComparison) WrkRatios {
	var t, p, cpu []float64
	for _, r := range rep.Rounds {
		rs := r.ratios(c)
		t, p, cpu = append(t, rs.Throughput), append(p, rs.P99), append(cpu, rs.CPU)
	}
	return WrkRatios{Throughput: median(t), P99: median(p), CPU: median(cpu)}
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
