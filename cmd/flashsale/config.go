package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
)

// config is everything the server can be told. Each flag may also come from
// the environment as FLASHSALE_<NAME> (dashes as underscores); the
// environment is read only for the flags the command line does not set.
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

	// tokenTrimmedFrom names where the admin token came from when
	// whitespace around it was trimmed, for run to warn once it can log.
	tokenTrimmedFrom string
}

// flags defines the command line, writing into c.
func flags(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.StringVar(&c.store, "store", "memory", "where the sale is kept: memory (lost on restart), sqlite (a file, --db) or postgres (a database that several servers may share, --dsn)")
	fs.StringVar(&c.db, "db", "", "the SQLite file of --store sqlite; created if missing (its folder must exist)")
	fs.StringVar(&c.dsn, "dsn", "", "the PostgreSQL database of --store postgres, as postgres://USER[:PASSWORD]@HOST:PORT/DATABASE?sslmode=...[&search_path=SCHEMA]; the tables are created if missing. At start, flashsale waits for the database while it cannot be reached")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for POST /initialize; whitespace around it is trimmed (default: a random one, logged once)")
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

// parseConfig reads the command line, then the environment for each flag
// the command line did not set, then checks the whole. Every error is one
// line naming the flag or variable at fault; a flag.ErrHelp is -h.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flags(&c)
	fs.SetOutput(io.Discard) // errors are returned, and printed once by main
	fs.VisitAll(func(f *flag.Flag) { f.Value = &readable{Value: f.Value, want: wants(f)} })
	if err := parseArgs(fs, args); err != nil {
		return c, err
	}
	from, err := applyEnv(fs, getenv)
	if err != nil {
		return c, err
	}
	c.trimToken(from)
	return c, c.check(from)
}

// parseArgs parses the command line, reporting a value a flag cannot read
// in the flag's own terms.
func parseArgs(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fs.VisitAll(func(f *flag.Flag) {
			if r := f.Value.(*readable); r.refused != nil {
				err = fmt.Errorf("-%s %w", f.Name, r.refused)
			}
		})
		return err
	}
	if err != nil || fs.NArg() == 0 {
		return err
	}
	extra := fmt.Errorf("unexpected argument %q", fs.Arg(0))
	// `--pprof false` reads as --pprof and a stray "false": say why.
	if i := len(args) - fs.NArg(); i > 0 {
		name := strings.TrimLeft(args[i-1], "-")
		if f := fs.Lookup(name); f != nil && f.Value.(*readable).IsBoolFlag() {
			return fmt.Errorf("%w: -%s takes no separate value; write -%s=true or -%s=false", extra, name, name, name)
		}
	}
	return extra
}

// envName is the variable that may set flag name.
func envName(name string) string {
	return "FLASHSALE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets each flag the command line did not from its variable, if
// that is set. A variable behind a flag the command line gives is not read
// at all, so that a stale or broken one cannot stop a start that overrides
// it. An empty variable counts as unset.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) (origins, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	from := origins{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if err != nil || given[f.Name] || v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%w", name, e)
			return
		}
		from[f.Name] = name
	})
	return from, err
}

// readable is a flag's value that, refusing one it cannot read, says what
// it wants rather than the flag package's "parse error". The flag package
// keeps only the text of the refusal, inside its own words, so the refusal
// also stays here for parseArgs to report as it is.
type readable struct {
	flag.Value
	want    string
	refused error
}

func (r *readable) Set(s string) error {
	if r.Value.Set(s) != nil {
		r.refused = fmt.Errorf("%q: want %s", s, r.want)
		return r.refused
	}
	return nil
}

// IsBoolFlag keeps --pprof working without a value.
func (r *readable) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// wants says what a flag's value must look like, from its type.
func wants(f *flag.Flag) string {
	if f.Name == "rate-limit" {
		return "a number of attempts per second"
	}
	switch f.Value.(flag.Getter).Get().(type) {
	case bool:
		return "true or false"
	case int, int64:
		return "a whole number"
	case float64:
		return "a number"
	case time.Duration:
		return "a duration with a unit, such as 90s, 5m or 1h30m"
	case *slog.Level:
		return "debug, info, warn or error"
	}
	return "another value" // a string flag reads any
}

// origins maps each flag set from the environment to its variable, so that
// a message names what the operator actually wrote.
type origins map[string]string

// name is how the operator gave flag: -flag or its variable.
func (o origins) name(flag string) string {
	if v, ok := o[flag]; ok {
		return v
	}
	return "-" + flag
}

// setting is flag with its value as the operator gave it: -inventory 5, or
// FLASHSALE_INVENTORY=5.
func (o origins) setting(flag string, value any) string {
	if v, ok := o[flag]; ok {
		return fmt.Sprintf("%s=%v", v, value)
	}
	return fmt.Sprintf("-%s %v", flag, value)
}

// trimToken drops whitespace around the admin token. HTTP strips it around
// a header's value, so a token kept with it (a trailing newline from an env
// file or a mounted secret, typically) could never match and every POST
// /initialize would get 401. What is left empty counts as not given.
func (c *config) trimToken(from origins) {
	if t := strings.TrimSpace(c.adminToken); t != c.adminToken {
		c.adminToken = t
		c.tokenTrimmedFrom = from.name("admin-token")
	}
}

// check refuses a configuration the server cannot run as the operator
// meant, with one line naming the flag or variable at fault.
func (c *config) check(from origins) error {
	for _, check := range []func(origins) error{c.checkStore, c.checkAddr, c.checkToken, c.checkTimes, c.checkRate, c.checkNumbers} {
		if err := check(from); err != nil {
			return err
		}
	}
	return nil
}

func (c *config) checkStore(from origins) error {
	switch {
	case c.store != "memory" && c.store != "sqlite" && c.store != "postgres":
		return fmt.Errorf("%s: want memory, sqlite or postgres", from.setting("store", strconv.Quote(c.store)))
	case c.store == "sqlite" && c.db == "":
		return fmt.Errorf("%s needs -db PATH, the file to keep the sale in", from.setting("store", c.store))
	case c.store != "sqlite" && c.db != "":
		return fmt.Errorf("%s is only for -store sqlite (the store is %s)", from.name("db"), c.store)
	case c.store == "postgres" && c.dsn == "":
		return fmt.Errorf("%s needs -dsn postgres://USER@HOST:PORT/DATABASE, the database to keep the sale in", from.setting("store", c.store))
	case c.store != "postgres" && c.dsn != "":
		// FLASHSALE_DSN counts too: a server must not quietly keep its sale
		// in memory while the operator believes it is in the database.
		return fmt.Errorf("%s is only for -store postgres (the store is %s)", from.name("dsn"), c.store)
	}
	return nil
}

// checkAddr refuses what net.Listen would read otherwise than meant: an
// empty address listens on every interface, at a port nobody chose.
func (c *config) checkAddr(from origins) error {
	const want = "want HOST:PORT, such as 127.0.0.1:8080, or port 0 for a free one"
	if c.addr == "" {
		return fmt.Errorf("%s is empty: %s", from.name("addr"), want)
	}
	_, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("%s: %s", from.setting("addr", strconv.Quote(c.addr)), want)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s: the port must be a number from 0 to 65535", from.setting("addr", strconv.Quote(c.addr)))
	}
	return nil
}

// checkToken refuses a token no client can send as a bearer token (RFC
// 6750's b64token). The message never shows the token, only what is wrong
// with it.
func (c *config) checkToken(from origins) error {
	if fault := bearerFault(c.adminToken); fault != "" {
		return fmt.Errorf("%s is not a bearer token: %s; want letters, digits and -._~+/, then = only at the end", from.name("admin-token"), fault)
	}
	return nil
}

// bearerFault says what keeps tok from being a b64token, or "" for nothing
// (the empty token is no token: run generates one).
func bearerFault(tok string) string {
	body := strings.TrimRight(tok, "=")
	if tok != "" && body == "" {
		return "it is only = signs"
	}
	for i, r := range []rune(body) {
		if !isTokenRune(r) {
			return fmt.Sprintf("character %d is %s", i+1, describeRune(r))
		}
	}
	return ""
}

func isTokenRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+/", r)
}

// describeRune names a character without showing more of a secret than
// needed: whitespace and control characters are invisible in a terminal
// anyway.
func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r == '\t':
		return "a tab"
	case unicode.IsSpace(r):
		return "a line break or other whitespace"
	case unicode.IsControl(r):
		return "a control character"
	case r > unicode.MaxASCII:
		return "not ASCII"
	}
	return strconv.QuoteRune(r)
}

// checkTimes refuses a duration the server would not honour as written.
func (c *config) checkTimes(from origins) error {
	if err := sale.CheckHoldTTL(c.holdTTL); err != nil {
		return fmt.Errorf("%s: %w", from.setting("hold-ttl", c.holdTTL), err)
	}
	if c.sweepInterval <= 0 {
		return fmt.Errorf("%s must be positive", from.setting("sweep-interval", c.sweepInterval))
	}
	// net/http reads 0 or less as no limit: a typo would silently take the
	// guard away, so each must be positive.
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read-header-timeout", c.readHeaderTimeout},
		{"read-timeout", c.readTimeout},
		{"write-timeout", c.writeTimeout},
		{"idle-timeout", c.idleTimeout},
	} {
		if t.d <= 0 {
			return fmt.Errorf("%s must be positive: net/http takes 0 or less as no limit, which would turn this guard off", from.setting(t.name, t.d))
		}
	}
	if c.shutdownTimeout <= 0 {
		return fmt.Errorf("%s must be positive: 0 or less would cut off the requests in flight at once", from.setting("shutdown-timeout", c.shutdownTimeout))
	}
	return nil
}

// checkRate leaves the bounds to httpapi, which enforces them.
func (c *config) checkRate(from origins) error {
	if err := httpapi.CheckRateLimit(c.rateLimit, 1); err != nil {
		return fmt.Errorf("%s: %w", from.name("rate-limit"), err)
	}
	if err := httpapi.CheckRateLimit(c.rateLimit, c.rateBurst); err != nil {
		return fmt.Errorf("%s: %w", from.name("rate-burst"), err)
	}
	return nil
}

func (c *config) checkNumbers(from origins) error {
	switch {
	case c.inventory < -1 || c.inventory > sale.MaxInventory:
		return fmt.Errorf("%s must be within 0..%d (or -1)", from.setting("inventory", c.inventory), sale.MaxInventory)
	case c.gcPercent < -1:
		return fmt.Errorf("%s must be -1 (off) or more", from.setting("gc-percent", c.gcPercent))
	}
	return nil
}

// randomToken makes an admin token when none is configured: 128 bits, so it
// cannot be guessed, in a form that is easy to paste.
func randomToken() string {
	return rand.Text()
}
