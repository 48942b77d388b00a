package load

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// op is the kind of request a run sends.
type op int

const (
	opReserve op = iota // a new user's first reservation
	opRepeat            // the same user reserving again (--mix)
	opConfirm           // confirming a hold (--mix)
	opCancel            // cancelling a hold (--mix)
	numOps
)

var opNames = [numOps]string{"reserve", "repeat reserve", "confirm", "cancel"}

// Latencies are recorded in microseconds, from 1 µs to a minute, to three
// significant digits: a few hundred KiB per worker, whatever the run's size.
const (
	histMin = 1
	histMax = 60_000_000
	histSig = 3
)

// maxProblems bounds how many contradictions are kept word for word; the
// rest are only counted.
const maxProblems = 20

// hold is one 201 a new user got.
type hold struct {
	user, id string
}

// tally is what one worker saw. Each worker has its own, so that recording
// never contends; they are merged once the run is over.
type tally struct {
	hist      *hdrhistogram.Histogram
	counts    [numOps][600]int64 // by op and status code; 0 holds codes out of range
	holds     []hold             // new users' 201s
	positions []int64            // new users' 202 positions
	confirmed int64              // confirms answered 200
	cancelled int64              // cancels answered 200
	problems  []string           // answers that contradict the request, word for word
	nproblems int64
}

func newTally() *tally {
	return &tally{hist: hdrhistogram.New(histMin, histMax, histSig)}
}

func (t *tally) count(o op, status int) {
	if status < 0 || status >= len(t.counts[o]) {
		status = 0
	}
	t.counts[o][status]++
}

func (t *tally) problem(format string, args ...any) {
	t.nproblems++
	if len(t.problems) < maxProblems {
		t.problems = append(t.problems, fmt.Sprintf(format, args...))
	}
}

func (t *tally) answered(o op) int64 {
	var n int64
	for _, c := range t.counts[o] {
		n += c
	}
	return n
}

func (t *tally) merge(o *tally) {
	t.hist.Merge(o.hist)
	for i := range t.counts {
		for s, c := range o.counts[i] {
			t.counts[i][s] += c
		}
	}
	t.holds = append(t.holds, o.holds...)
	t.positions = append(t.positions, o.positions...)
	t.confirmed += o.confirmed
	t.cancelled += o.cancelled
	for _, p := range o.problems {
		if len(t.problems) < maxProblems {
			t.problems = append(t.problems, p)
		}
	}
	t.nproblems += o.nproblems
}
