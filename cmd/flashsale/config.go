package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/live"
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
	idempotencyTTL    time.Duration
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
	maxStreams        int
	maxUserStreams    int
	newShopperRate    float64
	newShopperBurst   int
	trustedProxies    prefixes
	jwtKeys           string
	jwtSecret         string
	jwtIssuer         string
	jwtAudience       string
	webhookURLs       urlList
	webhookSecretFile string
	webhookMaxAge     time.Duration

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
	fs.DurationVar(&c.idempotencyTTL, "idempotency-ttl", sale.DefaultKeyTTL, "how long the answer to a request with an Idempotency-Key is kept for its retries; a retry after that runs again")
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
	fs.IntVar(&c.maxStreams, "max-streams", live.DefaultMaxStreams, "event streams (GET /users/{id}/events) this server keeps open at once; each holds a connection, so keep it under the open-files limit (ulimit -n); beyond it, 503 streams-full")
	fs.IntVar(&c.maxUserStreams, "max-streams-per-user", live.DefaultMaxPerUser, "event streams one user may have open at once on this server; beyond it, 429 too-many-streams")
	fs.Float64Var(&c.newShopperRate, "new-shopper-rate", 1, "new users per second one client address may make (a reserve with no token; 0 disables): what keeps one machine from taking the stock under many names. Clients behind one NAT share an address")
	fs.IntVar(&c.newShopperBurst, "new-shopper-burst", 20, "burst of new users per client address")
	fs.Var(&c.trustedProxies, "trusted-proxies", "comma-separated CIDRs of proxies in front of this server (such as 10.0.0.0/8): from them the client's address is read from Forwarded or X-Forwarded-For; otherwise it is the peer's")
	fs.StringVar(&c.jwtKeys, "shopper-jwt-keys", "", "the shop's own shopper tokens: a file of the public keys that sign them, a JWKS or PEM (PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE); the shopper is each token's sub. Read again on SIGHUP. Without it (nor -shopper-jwt-secret), the sale issues its own shopper tokens")
	fs.StringVar(&c.jwtSecret, "shopper-jwt-secret", "", "the shop's own shopper tokens signed with HS256: a file holding the secret (at least 32 bytes). Read again on SIGHUP")
	fs.StringVar(&c.jwtIssuer, "shopper-jwt-issuer", "", "the iss every shop token must carry (required with the shop's tokens)")
	fs.StringVar(&c.jwtAudience, "shopper-jwt-audience", "", "an aud every shop token must carry (required with the shop's tokens)")
	fs.Var(&c.webhookURLs, "webhook-url", "send every change a shopper must hear of to this URL, signed as Standard Webhooks 1.0 prescribes (repeat the flag for more endpoints; in the environment, URLs separated by spaces)")
	fs.StringVar(&c.webhookSecretFile, "webhook-secret-file", "", "the file of the secret that signs webhook calls: whsec_ and the key in base64 (two, separated by a space or a line, during a rotation: each call is signed by both). Read again on SIGHUP")
	fs.DurationVar(&c.webhookMaxAge, "webhook-max-age", sale.DefaultWebhookMaxAge, "how long an event is retried before it is dead-lettered (counted, logged with its id, shown by GET /webhooks)")
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
	switch f.Name {
	case "rate-limit":
		return "a number of attempts per second"
	case "new-shopper-rate":
		return "a number of new users per second"
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
	case prefixes:
		return "comma-separated CIDRs, such as 10.0.0.0/8,192.168.1.7/32"
	case urlList:
		return "http:// or https:// URLs"
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
