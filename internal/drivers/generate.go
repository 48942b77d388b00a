package drivers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Sample describes a synthetic delivery log. The same Sample always gives
// the same rows.
type Sample struct {
	Rows    int
	Drivers int
	Months  []Month // rows are split evenly across these months
	Seed    uint64
}

// Empty reports whether deliveries holds no rows. It reads at most one row,
// however long the log, so asking costs nothing before --generate.
func (db *DB) Empty(ctx context.Context) (bool, error) {
	var exists bool
	if err := db.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("look for rows in deliveries: %w", err)
	}
	return !exists, nil
}

// Count is the number of rows in deliveries. It reads them all: ask Empty
// to decide, and Count only to tell someone how many there are.
func (db *DB) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows in deliveries: %w", err)
	}
	return n, nil
}

// Generate appends s to the log in one transaction, with ids after the
// largest already there. Appending to a log that holds rows adds to every
// count; a caller that wants s alone asks Empty first.
//
// The log looks like a real one where it matters to the query: rows arrive
// in time order (so ids and timestamps rise together, as in an append-only
// log), a fifth of the drivers do half of the work, and each driver has a
// success rate of their own, many of them close to the 90% line.
func (db *DB) Generate(ctx context.Context, s Sample) error {
	if s.Rows < 0 || s.Drivers < 1 || len(s.Months) == 0 {
		return errors.New("generate: want Rows >= 0, Drivers >= 1 and at least one month")
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x666c617368)) // "flash"
	reliability := make([]float64, s.Drivers)
	for i := range reliability {
		if rng.IntN(10) < 6 {
			reliability[i] = 0.88 + 0.11*rng.Float64() // steady
		} else {
			reliability[i] = 0.60 + 0.35*rng.Float64() // struggling
		}
	}
	fullTimers := max(1, s.Drivers/5)

	return db.inTx(ctx, func(w *writer) error {
		var id int64
		if err := w.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM deliveries`).Scan(&id); err != nil {
			return err
		}
		for k, m := range s.Months {
			// Rows [lo, hi) fall in month m, spread evenly over its
			// seconds, each at a random second of its own slot.
			lo, hi := k*s.Rows/len(s.Months), (k+1)*s.Rows/len(s.Months)
			n := int64(hi - lo)
			secs := int64(m.End().Sub(m.Start()) / time.Second)
			for j := range n {
				from, to := j*secs/n, (j+1)*secs/n
				sec := from
				if to > from {
					sec += rng.Int64N(to - from)
				}
				driver := rng.IntN(s.Drivers)
				if rng.IntN(2) == 0 {
					driver = rng.IntN(fullTimers)
				}
				status := Completed
				if rng.Float64() >= reliability[driver] {
					status = Late
					if rng.IntN(3) == 0 {
						status = Failed
					}
				}
				id++
				d := Delivery{
					ID:       id,
					DriverID: int64(driver) + 1,
					Status:   status,
					At:       m.Start().Add(time.Duration(sec) * time.Second),
				}
				if err := w.add(ctx, d); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}
