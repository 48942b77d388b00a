// Command reliable-drivers lists the drivers who were reliable in a month:
// at least 5 completed deliveries and a success rate of at least 90%.
//
//	reliable-drivers --generate 200000 --db deliveries.db   # make a sample, then ask
//	reliable-drivers --month 2024-09 --format csv           # ask deliveries.db
//	reliable-drivers --dsn postgres://user@host/db          # ask PostgreSQL
//
// It exits 2 for a mistake on the command line (the message ends with
// "(see --help)"), and 1 for any other failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/drivers"
	"github.com/flashsale/flashsale/internal/pgdsn"
)

func main() {
	cli.Main("reliable-drivers", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	})
}

// wantDSN is what --dsn takes, for the errors that refuse one.
const wantDSN = "want postgres://USER@HOST:PORT/DATABASE"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("reliable-drivers", flag.ContinueOnError)
	// Errors are reported once, by main; the usage goes out only on -h.
	flags.SetOutput(io.Discard)
	monthFlag := flags.String("month", "2024-09", "month to report, as `YYYY-MM`")
	dbPath := flags.String("db", "deliveries.db", "SQLite database `file`")
	dsn := flags.String("dsn", "", "PostgreSQL database to use instead of --db (default $FLASHSALE_DSN): a `URL`,\npostgres://USER@HOST:PORT/DATABASE, or key=value pairs, host=HOST user=USER dbname=DATABASE")
	var generate rowsValue
	flags.Var(&generate, "generate", "first fill an empty log with a sample of `N` rows over the month and the months\neither side, creating the database file and table if needed")
	seed := seedValue{n: 1}
	flags.Var(&seed, "seed", "`seed` of the --generate sample: the same seed, the same rows")
	formatFlag := flags.String("format", "table", "output `format`: table, csv or json")
	flags.Usage = func() {} // the flag package calls it on every error, too
	usage := func() {
		fmt.Fprintf(stdout, "usage: reliable-drivers [flags]\n\nLists the drivers with at least 5 completed deliveries and a success rate\nof at least 90%% in a month.\n\n")
		flags.SetOutput(stdout)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			usage()
			return nil
		case generate.refused != nil:
			return cli.Usagef("--generate %w", generate.refused)
		case seed.refused != nil:
			return cli.Usagef("--seed %w", seed.refused)
		}
		return cli.Usage(err)
	}
	if flags.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", flags.Arg(0))
	}
	month, err := drivers.ParseMonth(*monthFlag)
	if err != nil {
		return cli.Usage(err)
	}
	format, err := drivers.ParseFormat(*formatFlag)
	if err != nil {
		return cli.Usage(err)
	}
	dbSet := false
	flags.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if *dsn != "" && dbSet {
		return cli.Usagef("give --db or --dsn, not both")
	}
	dsnName := "--dsn"
	if *dsn == "" && !dbSet {
		// Read here, not as the flag's default, so --help never prints it:
		// a DSN may hold a password.
		*dsn, dsnName = getenv("FLASHSALE_DSN"), "FLASHSALE_DSN"
	}
	if *dsn != "" {
		if err := checkDSN(dsnName, *dsn); err != nil {
			return err
		}
	}

	db, err := open(ctx, *dsn, *dbPath, generate.n > 0)
	if err != nil {
		return err
	}
	defer db.Close()

	err = db.CheckSchema(ctx)
	noTable := errors.Is(err, drivers.ErrNoTable)
	switch {
	case noTable && generate.n > 0:
		// The sample makes it.
	case noTable:
		return fmt.Errorf("%w; create it with sql/schema.%s.sql, or run with --generate N for a sample", err, db.Dialect())
	case err != nil:
		return err
	}
	if generate.n > 0 {
		if !noTable {
			if err := checkEmpty(ctx, db, *dsn, *dbPath); err != nil {
				return err
			}
		}
		if err := addSample(ctx, db, generate.n, seed.n, month, stderr); err != nil {
			return err
		}
	}
	ds, err := db.Reliable(ctx, month)
	if err != nil {
		return err
	}
	return drivers.Write(stdout, format, month, ds)
}

// urlScheme matches a DSN written as a URL and captures its scheme. The
// scheme holds no password, so it can be shown.
var urlScheme = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*)://`)

// checkDSN refuses, as a usage error, a DSN that pgx would not take for
// PostgreSQL; name is where it came from, --dsn or FLASHSALE_DSN. pgx reads
// a URL of any scheme but postgres:// and postgresql:// as a key=value
// string, fails to parse it, and masks what it took for a password:
// mysql://user:secret@host came back as "mysql:xxxxxx@host", which said
// nothing of the real mistake.
func checkDSN(name, dsn string) error {
	if m := urlScheme.FindStringSubmatch(dsn); m != nil && m[1] != "postgres" && m[1] != "postgresql" {
		return cli.Usagef("%s is a %s:// URL; %s", name, m[1], wantDSN)
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return cli.Usagef("%s: %v; %s", name, pgdsn.RedactError(err, dsn), wantDSN)
	}
	return nil
}

func open(ctx context.Context, dsn, path string, create bool) (*drivers.DB, error) {
	if dsn != "" {
		return drivers.OpenPostgres(ctx, dsn)
	}
	if create {
		if err := checkFolder(path); err != nil {
			return nil, err
		}
	}
	db, err := drivers.OpenSQLite(ctx, path, create)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database file %s does not exist; run with --generate N to create a sample", path)
	}
	return db, err
}

// checkFolder says in our words what SQLite says as "unable to open
// database file (14)" when it is asked to create path in a folder that is
// not there: SQLite makes the file, never its folder. Other problems with
// the folder, such as permissions, are left for SQLite to report.
func checkFolder(path string) error {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("folder %s does not exist; --db creates the database file, not its folder", dir)
	case err == nil && !info.IsDir():
		return fmt.Errorf("%s is a file, not a folder; --db creates the database file, not its folder", dir)
	}
	return nil
}
