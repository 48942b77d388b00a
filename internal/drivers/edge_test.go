package drivers

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// logBuilder builds a delivery log from compact descriptions.
type logBuilder struct{ rows []Delivery }

// add appends n deliveries of driver with status at the given timestamp.
func (b *logBuilder) add(driver int64, s Status, at string, n int) {
	t, err := time.Parse(TimestampLayout, at)
	if err != nil {
		panic(err)
	}
	for range n {
		b.rows = append(b.rows, Delivery{DriverID: driver, Status: s, At: t})
	}
}

// shuffled numbers the rows in a random order, so that no answer can depend
// on the order in which rows were written.
func (b *logBuilder) shuffled(seed uint64) []Delivery {
	rows := slices.Clone(b.rows)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	for i := range rows {
		rows[i].ID = int64(i + 1)
	}
	return rows
}

const mid = "2024-09-15 12:00:00"

// edgeLog holds one driver per edge case. The expected answer for September
// 2024 is worked out by hand in edgeWant.
func edgeLog() *logBuilder {
	var b logBuilder
	// 1: 9 of 10 is exactly 90%: in, 90.00.
	b.add(1, Completed, mid, 9)
	b.add(1, Late, mid, 1)
	// 2: 17 of 19 is 89.47%: out.
	b.add(2, Completed, mid, 17)
	b.add(2, Failed, mid, 2)
	// 3: 899 of 999 is 89.99%: out.
	b.add(3, Completed, mid, 899)
	b.add(3, Late, mid, 100)
	// 4: 1,808 of 2,009 is 89.995%, which rounds to 90.00: out, because
	// the threshold is decided before any rounding.
	b.add(4, Completed, mid, 1808)
	b.add(4, Failed, mid, 201)
	// 5: exactly 5 completed, nothing else: in, 100.00.
	b.add(5, Completed, mid, 5)
	// 6: 4 completed at 100%: out, too few.
	b.add(6, Completed, mid, 4)
	// 7: only LATE and FAILED: out.
	b.add(7, Late, mid, 4)
	b.add(7, Failed, mid, 3)
	// 8: the fifth completed is at the first second of the month: in only
	// if the start is inclusive.
	b.add(8, Completed, mid, 4)
	b.add(8, Completed, "2024-09-01 00:00:00", 1)
	// 9: the fifth completed is at the last second of the month: in only if
	// the whole of 30 September counts (BETWEEN ... '2024-09-30' loses it).
	b.add(9, Completed, mid, 4)
	b.add(9, Completed, "2024-09-30 23:59:59", 1)
	// 10: a failure one second before the month: 5 of 5 in, not 5 of 6.
	b.add(10, Completed, mid, 5)
	b.add(10, Failed, "2024-08-31 23:59:59", 1)
	// 11: a failure at the first second after the month: 5 of 5, not 5 of 6.
	b.add(11, Completed, mid, 5)
	b.add(11, Failed, "2024-10-01 00:00:00", 1)
	// 12: perfect, but in other months and years only: out.
	b.add(12, Completed, "2023-09-15 12:00:00", 10)
	b.add(12, Completed, "2024-08-15 12:00:00", 10)
	b.add(12, Completed, "2024-10-15 12:00:00", 10)
	b.add(12, Completed, "2025-09-15 12:00:00", 10)
	// 13: 5 of 5 in September 2024, failures in September 2023 and
	// October 2024 that must not count: in, total 5.
	b.add(13, Completed, mid, 5)
	b.add(13, Failed, "2023-09-15 12:00:00", 5)
	b.add(13, Failed, "2024-10-15 12:00:00", 5)
	// 20-23: ties on rate; 23 has more deliveries, 20-22 tie on everything
	// but the id.
	for _, d := range []int64{22, 21, 20} {
		b.add(d, Completed, mid, 7)
	}
	b.add(23, Completed, mid, 8)
	// 30 and 31 tie on the printed rate but not on the exact one: 19 of 20
	// is 95%, 968 of 1,019 is 94.995...%, which also prints as 95.00. The
	// order follows the printed column, so 31, with more deliveries, first.
	b.add(30, Completed, mid, 19)
	b.add(30, Late, mid, 1)
	b.add(31, Completed, mid, 968)
	b.add(31, Late, mid, 51)
	// 40: 3,601 of 4,000 is exactly 90.025%: rounds half up to 90.03.
	b.add(40, Completed, mid, 3601)
	b.add(40, Late, mid, 399)
	// 41: 29 of 32 is exactly 90.625%: 90.63.
	b.add(41, Completed, mid, 29)
	b.add(41, Failed, mid, 3)
	return &b
}

var edgeWant = []Driver{
	{23, 8, 10000},
	{20, 7, 10000},
	{21, 7, 10000},
	{22, 7, 10000},
	{5, 5, 10000},
	{8, 5, 10000},
	{9, 5, 10000},
	{10, 5, 10000},
	{11, 5, 10000},
	{13, 5, 10000},
	{31, 1019, 9500},
	{30, 20, 9500},
	{41, 32, 9063},
	{40, 4000, 9003},
	{1, 10, 9000},
}

func TestEdgeCases(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if err := db.Insert(ctx, edgeLog().shuffled(1)); err != nil {
			t.Fatal(err)
		}
		got, err := db.Reliable(ctx, MustParseMonth("2024-09"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, edgeWant) {
			t.Errorf("September 2024:\n got %v\nwant %v", got, edgeWant)
		}
		// The file as it is, with its literal September, must agree with
		// the parameterized query the Go code runs.
		file := monthSQLs[db.dialect]
		asIs, err := db.reliable(ctx, file.text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(asIs, edgeWant) {
			t.Errorf("%s as it is:\n got %v\nwant %v", file.file, asIs, edgeWant)
		}

		// Months with no rows are empty, not an error and not nil; in the
		// months around, only driver 12 has enough.
		for month, want := range map[string][]Driver{
			"2024-11": {},
			"2025-10": {},
			"2023-09": {{12, 10, 10000}},
			"2024-08": {{12, 10, 10000}},
			"2024-10": {{12, 10, 10000}},
		} {
			got, err := db.Reliable(ctx, MustParseMonth(month))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !slices.Equal(got, want) {
				t.Errorf("%s: got %#v, want %v", month, got, want)
			}
		}
	})
}
