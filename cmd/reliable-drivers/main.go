// Command reliable-drivers lists the drivers who were reliable in a month:
// at least 5 completed deliveries and a success rate of at least 90%.
//
//	reliable-drivers --generate 200000 --db deliveries.db   # make a sample, then ask
//	reliable-drivers --month 2024-09 --format csv           # ask deliveries.db
//	reliable-drivers --dsn postgres://user@host/db          # ask PostgreSQL
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"

	"github.com/flashsale/flashsale/internal/drivers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reliable-drivers: %v\n", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake on the command line, as opposed to a failure.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("reliable-drivers", flag.ContinueOnError)
	// Errors are reported once, by main; the usage goes out only on -h.
	flags.SetOutput(io.Discard)
	monthFlag := flags.String("month", "2024-09", "month to report, as `YYYY-MM`")
	dbPath := flags.String("db", "deliveries.db", "SQLite database `file`")
	dsn := flags.String("dsn", "", "PostgreSQL `URL` to use instead of --db (default $FLASHSALE_DSN)")
	formatFlag := flags.String("format", "table", "output `format`: table, csv or json")
	generate := flags.Int("generate", 0, "first add a sample of `N` rows over the month and the months either side,\ncreating the database and table if needed")
	seed := flags.Uint64("seed", 1, "seed of the --generate sample")
	flags.Usage = func() {} // the flag package calls it on every error, too
	usage := func() {
		fmt.Fprintf(stdout, "usage: reliable-drivers [flags]\n\nLists the drivers with at least 5 completed deliveries and a success rate\nof at least 90%% in a month.\n\n")
		flags.SetOutput(stdout)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil
		}
		return usagef("%v (see --help)", err)
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	month, err := drivers.ParseMonth(*monthFlag)
	if err != nil {
		return usageError{err}
	}
	format, err := drivers.ParseFormat(*formatFlag)
	if err != nil {
		return usageError{err}
	}
	if *generate < 0 {
		return usagef("--generate %d: want a number of rows >= 0", *generate)
	}
	dbSet := false
	flags.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if *dsn != "" && dbSet {
		return usagef("give --db or --dsn, not both")
	}
	if *dsn == "" && !dbSet {
		// Read here, not as the flag's default, so --help never prints it:
		// a DSN may hold a password.
		*dsn = getenv("FLASHSALE_DSN")
	}

	db, err := open(ctx, *dsn, *dbPath, *generate > 0)
	if err != nil {
		return err
	}
	defer db.Close()

	if *generate > 0 {
		if err := db.ApplySchema(ctx); err != nil {
			return err
		}
	}
	if err := db.CheckSchema(ctx); err != nil {
		if errors.Is(err, drivers.ErrNoTable) {
			return fmt.Errorf("%w; create it with sql/schema.%s.sql, or run with --generate N for a sample", err, db.Dialect())
		}
		return err
	}
	if *generate > 0 {
		sample := drivers.Sample{
			Rows:    *generate,
			Drivers: max(1, *generate/200), // about 70 deliveries a month each
			Months:  []drivers.Month{month.Add(-1), month, month.Add(1)},
			Seed:    *seed,
		}
		if err := db.Generate(ctx, sample); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "reliable-drivers: added %d sample rows (%d drivers, %s to %s, seed %d)\n",
			sample.Rows, sample.Drivers, sample.Months[0], sample.Months[2], sample.Seed)
	}
	ds, err := db.Reliable(ctx, month)
	if err != nil {
		return err
	}
	return drivers.Write(stdout, format, month, ds)
}

func open(ctx context.Context, dsn, path string, create bool) (*drivers.DB, error) {
	if dsn != "" {
		return drivers.OpenPostgres(ctx, dsn)
	}
	db, err := drivers.OpenSQLite(ctx, path, create)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database file %s does not exist; run with --generate N to create a sample", path)
	}
	return db, err
}
