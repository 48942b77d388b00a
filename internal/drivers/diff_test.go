package drivers

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// reference answers the question in plain Go, from the definition and not
// from the SQL: time.Time comparisons for the month, exact rationals for the
// threshold, and rounding half up for the printed rate.
func reference(rows []Delivery, m Month) []Driver {
	type counts struct{ completed, total int64 }
	per := map[int64]*counts{}
	for _, r := range rows {
		if r.At.Before(m.Start()) || !r.At.Before(m.End()) {
			continue
		}
		c := per[r.DriverID]
		if c == nil {
			c = &counts{}
			per[r.DriverID] = c
		}
		c.total++
		if r.Status == Completed {
			c.completed++
		}
	}
	ninety := big.NewRat(9, 10)
	ds := []Driver{}
	for id, c := range per {
		if c.completed < 5 || big.NewRat(c.completed, c.total).Cmp(ninety) < 0 {
			continue
		}
		// Hundredths of a percent, 10000*completed/total, rounded half up.
		rate := (20000*c.completed + c.total) / (2 * c.total)
		ds = append(ds, Driver{ID: id, TotalDeliveries: c.total, SuccessRate: Rate(rate)})
	}
	slices.SortFunc(ds, func(a, b Driver) int {
		return cmp.Or(
			cmp.Compare(b.SuccessRate, a.SuccessRate),
			cmp.Compare(b.TotalDeliveries, a.TotalDeliveries),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return ds
}

// randomLog makes a log that crowds the places where answers go wrong:
// drivers whose success rate sits near 90%, drivers near 5 completed, and
// timestamps on the seconds either side of month boundaries.
func randomLog(seed uint64) []Delivery {
	rng := rand.New(rand.NewPCG(seed, 42))
	drivers := 30 + rng.IntN(70)
	rows := 1500 + rng.IntN(1500)
	p := make([]float64, drivers)
	for i := range p {
		switch rng.IntN(4) {
		case 0:
			p[i] = 1
		case 1:
			p[i] = 0.5 + 0.5*rng.Float64()
		default:
			p[i] = 0.85 + 0.1*rng.Float64()
		}
	}
	edges := []string{
		"2024-08-31 23:59:59", "2024-09-01 00:00:00",
		"2024-09-30 23:59:59", "2024-10-01 00:00:00",
		"2023-09-30 23:59:59", "2023-10-01 00:00:00",
	}
	from := time.Date(2024, 8, 20, 0, 0, 0, 0, time.UTC)
	span := int64(50 * 24 * 3600) // to 9 October
	log := make([]Delivery, rows)
	for i := range log {
		d := rng.IntN(drivers)
		var at time.Time
		switch rng.IntN(10) {
		case 0:
			at, _ = time.Parse(TimestampLayout, edges[rng.IntN(len(edges))])
		case 1:
			at = from.AddDate(-1, 0, 0).Add(time.Duration(rng.Int64N(span)) * time.Second)
		default:
			at = from.Add(time.Duration(rng.Int64N(span)) * time.Second)
		}
		s := Completed
		if rng.Float64() >= p[d] {
			s = []Status{Late, Failed}[rng.IntN(2)]
		}
		// Ids in random order, so row order says nothing about time.
		log[i] = Delivery{DriverID: int64(d + 1), Status: s, At: at}
	}
	for i, j := range rng.Perm(rows) {
		log[i].ID = int64(j + 1)
	}
	return log
}

func TestDifferential(t *testing.T) {
	months := []string{"2024-09", "2024-08", "2024-10", "2023-09", "2023-10"}
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		var all []Delivery
		for seed := range uint64(5) {
			log := randomLog(seed)
			for i := range log {
				log[i].ID += int64(len(all)) // keep ids unique across seeds
				log[i].DriverID += int64(1000 * seed)
			}
			all = append(all, log...)
			if err := db.Insert(ctx, log); err != nil {
				t.Fatal(err)
			}
			// After each seed, the answer over everything inserted so far.
			for _, s := range months {
				m := MustParseMonth(s)
				got, err := db.Reliable(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				want := reference(all, m)
				if len(want) == 0 && s == "2024-09" {
					t.Fatalf("seed %d: no reliable driver in %s; the log tests nothing", seed, s)
				}
				if !slices.Equal(got, want) {
					t.Errorf("seed %d, %s:\n got %v\nwant %v\nfirst difference: %s", seed, s, got, want, firstDiff(got, want))
				}
			}
		}
	})
}

func firstDiff(got, want []Driver) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}
