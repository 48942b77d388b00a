package main

import (
	"context"
	"fmt"
	"io"

	"github.com/flashsale/flashsale/internal/drivers"
	"github.com/flashsale/flashsale/internal/pgdsn"
)

// checkEmpty refuses --generate on a log that already holds rows: the
// sample would add to every count, and running the README's example twice
// would double every driver's deliveries. It only reads, so a refusal writes
// nothing. dsn and path name the log in the refusal.
func checkEmpty(ctx context.Context, db *drivers.DB, dsn, path string) error {
	empty, err := db.Empty(ctx)
	if err != nil || empty {
		return err
	}
	n, err := db.Count(ctx) // only to say how many
	if err != nil {
		return err
	}
	return notEmptyError(dsn, path, n)
}

// notEmptyError is the refusal of checkEmpty. It is not a usage error: the
// same command line was right when the log was empty.
func notEmptyError(dsn, path string, n int64) error {
	rows := fmt.Sprintf("%d deliveries", n)
	if n == 1 {
		rows = "1 delivery"
	}
	if dsn == "" {
		return fmt.Errorf("%s already holds %s; --generate only fills an empty log: ask it without --generate, or give a new --db to make a new sample", path, rows)
	}
	return fmt.Errorf("the deliveries table of %s already holds %s; --generate only fills an empty log: ask it without --generate, or give a --dsn with another database or search_path to make a new sample", pgdsn.Redact(dsn), rows)
}

// addSample makes the table if needed and adds n sample rows over month and
// the months either side.
func addSample(ctx context.Context, db *drivers.DB, n int, seed uint64, month drivers.Month, stderr io.Writer) error {
	sample := drivers.Sample{
		Rows:    n,
		Drivers: max(1, n/200), // about 70 deliveries a month each
		Months:  []drivers.Month{month.Add(-1), month, month.Add(1)},
		Seed:    seed,
	}
	if err := db.ApplySchema(ctx); err != nil {
		return err
	}
	if err := db.Generate(ctx, sample); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reliable-drivers: added %d sample rows (%d drivers, %s to %s, seed %d)\n",
		sample.Rows, sample.Drivers, sample.Months[0], sample.Months[2], sample.Seed)
	return nil
}
