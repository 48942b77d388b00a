package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// config is everything the server can be told. Each flag may also come from
// the environment as FLASHSALE_<NAME> (dashes as underscores); a flag on the
// command line wins over the environment.
type config struct {
	store             string
	db                string
	dsn               string
	addr              string
	adminToken        string
	holdTTL           time.Duration
	rateLimit         float64
	rateBurst         int
	inventory         int64
	sweepInterval     time.Duration
	logLevel          slog.Level
	pprof             bool
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
	gcPercent         int
}

// flags defines the command line, writing into c.
func flags(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.StringVar(&c.store, "store", "memory", "where the sale is kept: memory (lost on restart), sqlite (a file, --db) or postgres (a database that several servers may share, --dsn)")
	fs.StringVar(&c.db, "db", "", "the SQLite file of --store sqlite; created if missing (its folder must exist)")
	fs.StringVar(&c.dsn, "dsn", "", "the PostgreSQL database of --store postgres, as postgres://USER[:PASSWORD]@HOST:PORT/DATABASE?sslmode=...[&search_path=SCHEMA]; the tables are created if missing. At start, flashsale waits for the database while it cannot be reached")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for POST /initialize (default: a random one, logged once)")
	fs.DurationVar(&c.holdTTL, "hold-ttl", sale.DefaultHoldTTL, "how long a hold lasts unless confirmed")
	fs.Float64Var(&c.rateLimit, "rate-limit", 5, "reservation attempts per second per user (0 disables)")
	fs.IntVar(&c.rateBurst, "rate-burst", 10, "burst of reservation attempts per user")
	fs.Int64Var(&c.inventory, "inventory", -1, "initialize the sale with this many units at start, unless it is initialized already (a durable store's sale after a restart; -1: wait for POST /initialize)")
	fs.DurationVar(&c.sweepInterval, "sweep-interval", time.Second, "how often expired holds are swept when no request arrives")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.BoolVar(&c.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "time to read request headers (slow-loris guard)")
	fs.DurationVar(&c.readTimeout, "read-timeout", 10*time.Second, "time to read a whole request")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 10*time.Second, "time to write a response")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 60*time.Second, "how long an idle keep-alive connection is kept")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for requests in flight")
	fs.IntVar(&c.gcPercent, "gc-percent", 400, "garbage collector target (as GOGC; a GOGC environment variable wins)")
	return fs
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flags(&c)
	fs.SetOutput(io.Discard) // errors are returned, and printed once by main

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "FLASHSALE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.store != "memory" && c.store != "sqlite" && c.store != "postgres":
		return c, fmt.Errorf("-store %q: want memory, sqlite or postgres", c.store)
	case c.store == "sqlite" && c.db == "":
		return c, fmt.Errorf("-store sqlite needs -db PATH, the file to keep the sale in")
	case c.store != "sqlite" && c.db != "":
		return c, fmt.Errorf("-db is only for -store sqlite (the store is %s)", c.store)
	case c.store == "postgres" && c.dsn == "":
		return c, fmt.Errorf("-store postgres needs -dsn postgres://USER@HOST:PORT/DATABASE, the database to keep the sale in")
	case c.store != "postgres" && c.dsn != "":
		// FLASHSALE_DSN counts too: a server must not quietly keep its sale
		// in memory while the operator believes it is in the database.
		return c, fmt.Errorf("-dsn (or FLASHSALE_DSN) is only for -store postgres (the store is %s)", c.store)
	case sale.CheckHoldTTL(c.holdTTL) != nil:
		return c, fmt.Errorf("-hold-ttl: %w", sale.CheckHoldTTL(c.holdTTL))
	case c.rateLimit < 0:
		return c, fmt.Errorf("-rate-limit %v must not be negative", c.rateLimit)
	case c.rateLimit > 0 && c.rateBurst < 1:
		return c, fmt.Errorf("-rate-burst %d must be at least 1", c.rateBurst)
	case c.inventory < -1 || c.inventory > sale.MaxInventory:
		return c, fmt.Errorf("-inventory %d must be within 0..%d (or -1)", c.inventory, sale.MaxInventory)
	case c.gcPercent < -1:
		return c, fmt.Errorf("-gc-percent %d must be -1 (off) or more", c.gcPercent)
	case c.sweepInterval <= 0:
		return c, fmt.Errorf("-sweep-interval %v must be positive", c.sweepInterval)
	}
	return c, nil
}

// randomToken makes an admin token when none is configured: 128 bits, so it
// cannot be guessed, in a form that is easy to paste.
func randomToken() string {
	return rand.Text()
}
