package rules

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Uniformity. Over draws (10,000) of 10 entrants, each made by a Sale with
// a fresh seed, an entrant's place is uniform over the 10 places, and who
// queued early (ten minutes before the opening) and who queued late (one
// millisecond before) are placed alike.
//
// Each of the 11 checks is Pearson's chi-square with 9 degrees of freedom,
// refused at p = 0.001, whose critical value is 27.877: the family of 11
// fails a fair draw with probability at most 1.1%. The seeds come from a
// ChaCha8 stream with a fixed seed, so the test is the same on every run:
// a failure is reproducible, not a one-in-a-hundred flake. A mutant draw
// that keeps arrival order fails every check by far (its statistics are in
// the tens of thousands).
const (
	draws    = 10_000
	entrants = 10
	// chiCritical9 is the 0.999 quantile of chi-square with 9 degrees of
	// freedom.
	chiCritical9 = 27.877
)

// placeCounts is, for each entrant (by arrival), how often it got each
// place (0-based).
type placeCounts [entrants][entrants]int

// countPlaces makes draws draws with draw, which is given the entrants in
// arrival order and returns them in drawn order.
func countPlaces(t *testing.T, draw func(arrivals []string) []string) placeCounts {
	t.Helper()
	arrivals := names("e", entrants)
	var c placeCounts
	for range draws {
		order := draw(arrivals)
		if len(order) != entrants {
			t.Fatalf("a draw of %d gave %v", entrants, order)
		}
		for place, u := range order {
			i, err := strconv.Atoi(u[1:])
			if err != nil {
				t.Fatal(err)
			}
			c[i][place]++
		}
	}
	return c
}

// chiSquare is Pearson's statistic of a table of counts against
// independence of its rows and columns (for one row: against a uniform
// row).
func chiSquare(table [][]int) float64 {
	rows, cols := make([]float64, len(table)), make([]float64, len(table[0]))
	n := 0.0
	for i, row := range table {
		for j, c := range row {
			rows[i] += float64(c)
			cols[j] += float64(c)
			n += float64(c)
		}
	}
	x := 0.0
	for i, row := range table {
		for j, c := range row {
			want := rows[i] * cols[j] / n
			if len(table) == 1 {
				want = rows[i] / float64(len(row))
			}
			x += (float64(c) - want) * (float64(c) - want) / want
		}
	}
	return x
}

// uniformity returns the statistics of the 11 checks: one per entrant
// (its places against uniform), then early arrivals' places against late
// arrivals'.
func uniformity(c placeCounts) []float64 {
	var xs []float64
	for i := range c {
		xs = append(xs, chiSquare([][]int{c[i][:]}))
	}
	early, late := make([]int, entrants), make([]int, entrants)
	for i := range c {
		for place, n := range c[i] {
			if i < entrants/2 {
				early[place] += n
			} else {
				late[place] += n
			}
		}
	}
	return append(xs, chiSquare([][]int{early, late}))
}

// saleDraw draws with a real Sale: the early half of the arrivals queue
// ten minutes before the opening, the late half a millisecond before it,
// and the first three get holds.
func saleDraw(t *testing.T, seeds io.Reader) func([]string) []string {
	opens := t0.Add(10 * time.Minute)
	return func(arrivals []string) []string {
		s, err := New(sale.Config{HoldTTL: windowTTL, Seeds: seeds})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.InitializeWindow(t0, 3, false, sale.Window{OpensAt: opens}); err != nil {
			t.Fatal(err)
		}
		for i, u := range arrivals {
			at := t0
			if i >= len(arrivals)/2 {
				at = opens.Add(-time.Millisecond)
			}
			if res, err := s.Reserve(at, u); err != nil || !res.Queued {
				t.Fatalf("reserve %s: %+v, %v", u, res, err)
			}
		}
		s.Take()
		s.Expire(opens)
		var order []string
		for _, e := range s.Take() {
			if e.Kind == sale.EventPromoted {
				order = append(order, e.UserID)
			}
		}
		rest := make([]string, len(arrivals)-len(order))
		for _, u := range arrivals {
			if st := s.User(u); st.State == sale.Waiting {
				rest[st.Position-1] = u
			}
		}
		return append(order, rest...)
	}
}

func TestTheDrawIsUniform(t *testing.T) {
	var key [32]byte
	binary.BigEndian.PutUint64(key[:], 26)
	c := countPlaces(t, saleDraw(t, rand.NewChaCha8(key)))
	for i, x := range uniformity(c) {
		what := fmt.Sprintf("entrant %d's places %v", i, c[i%entrants])
		if i == entrants {
			what = "early against late arrivals' places"
		}
		if x >= chiCritical9 {
			t.Errorf("%s: chi-square %.2f, at least %.3f (p < 0.001): not uniform", what, x, chiCritical9)
		} else {
			t.Logf("%s: chi-square %.2f < %.3f", what, x, chiCritical9)
		}
	}
}

// The same checks refuse a draw that keeps arrival order: they can fail.
func TestTheUniformityChecksRefuseArrivalOrder(t *testing.T) {
	arrivalOrder := func(arrivals []string) []string { return slices.Clone(arrivals) }
	c := countPlaces(t, arrivalOrder)
	for i, x := range uniformity(c) {
		if x < chiCritical9 {
			t.Errorf("check %d passed a draw that keeps arrival order: chi-square %.2f < %.3f", i, x, chiCritical9)
		}
	}
	// And a subtler one: the first to arrive is placed first half the
	// time, the rest drawn fairly.
	rng := rand.New(rand.NewPCG(3, 4))
	firstFavoured := func(arrivals []string) []string {
		o := slices.Clone(arrivals)
		rng.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		if rng.IntN(2) == 0 {
			i := slices.Index(o, arrivals[0])
			copy(o[1:i+1], o[:i])
			o[0] = arrivals[0]
		}
		return o
	}
	c = countPlaces(t, firstFavoured)
	if x := uniformity(c); x[0] < chiCritical9 || x[entrants] < chiCritical9 {
		t.Errorf("the checks passed a draw that favours the first arrival: entrant 0 %.2f, early/late %.2f", x[0], x[entrants])
	}
}
