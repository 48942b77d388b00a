package load

import (
	"fmt"
	"io"
	"strings"
)

// noiseBand is how far two runs of one server differed in these rounds, as
// a ratio of one over the other: from its lowest figure over its highest
// to the highest over the lowest. A ratio of another server over it inside
// the band cannot be told from the server's own spread. ok is false with
// fewer than two figures above zero.
func noiseBand(xs []float64) (lo, hi float64, ok bool) {
	least, most := 0.0, 0.0
	n := 0
	for _, x := range xs {
		if x <= 0 {
			continue
		}
		if n == 0 || x < least {
			least = x
		}
		if n == 0 || x > most {
			most = x
		}
		n++
	}
	if n < 2 {
		return 0, 0, false
	}
	return least / most, most / least, true
}

// printNoise says, for a comparison judged by noise, how far the runs of
// the server it is against (the one without the change) spread over the
// rounds (noiseBand), and whether each median ratio lies within that: a
// change whose ratio stays inside cannot be told from the machine's noise
// in this many rounds. The changed server's own spread is left out: a
// cost that shows in some runs only (a pause now and then) would widen
// it, and hide itself.
func (rep WrkReport) printNoise(w io.Writer, c wrkComparison, o WrkRatios) {
	first := rep.Rounds[0]
	ref := first.run(c.to).Server
	if len(rep.Rounds) < 2 {
		fmt.Fprintf(w, "  noise        one round: no spread of %s's own runs to judge the ratios by (run 3 rounds or more)\n", ref)
		return
	}
	var bands, verdicts []string
	for _, m := range []struct {
		name  string
		of    func(WrkRun) float64
		ratio float64
	}{
		{"throughput", func(r WrkRun) float64 { return r.Figures.Throughput() }, o.Throughput},
		{"p99", func(r WrkRun) float64 { return float64(r.Figures.P99) }, o.P99},
		{"cpu/request", WrkRun.CPUPerRequest, o.CPU},
	} {
		var xs []float64
		for _, r := range rep.Rounds {
			xs = append(xs, m.of(r.run(c.to)))
		}
		lo, hi, ok := noiseBand(xs)
		if !ok || m.ratio <= 0 {
			continue
		}
		bands = append(bands, fmt.Sprintf("%s %.2f–%.2f", m.name, lo, hi))
		verdict := "within noise"
		switch {
		case m.ratio < lo:
			verdict = "below the noise"
		case m.ratio > hi:
			verdict = "above the noise"
		}
		verdicts = append(verdicts, fmt.Sprintf("%s %.2f %s", m.name, m.ratio, verdict))
	}
	fmt.Fprintf(w, "  noise        %s's own runs over the %d rounds, one over another: %s\n", ref, len(rep.Rounds), strings.Join(bands, ", "))
	fmt.Fprintf(w, "  verdict      %s\n", strings.Join(verdicts, ", "))
	var ofRSS, toRSS []float64
	for _, r := range rep.Rounds {
		ofRSS, toRSS = append(ofRSS, float64(r.Servers[c.of].RSS)), append(toRSS, float64(r.run(c.to).RSS))
	}
	if a, b := median(ofRSS), median(toRSS); a > 0 && b > 0 {
		fmt.Fprintf(w, "  memory       server RSS after the run, the median: %s %s, %s %s\n", first.Servers[c.of].Server, mib(a), ref, mib(b))
	}
}
