// Command flashsale serves the reservation API.
//
//	flashsale --addr 127.0.0.1:8080 --inventory 100                 # in memory
//	flashsale --store sqlite --db sale.db --inventory 100           # survives kill -9
//	flashsale --store postgres --dsn postgres://USER@HOST/DB        # several servers, one sale
//	flashsale draw --seed HEX --entrants FILE                       # recompute a sale's draw
//
// See `flashsale -h` for flags; each is also FLASHSALE_<NAME> in the
// environment, read only when the command line does not give the flag. A
// mistake in them exits 2, a failure to serve 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
)

func main() {
	cli.SetServerGC()
	cli.Main("flashsale", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	})
}

// run serves until ctx is done, then shuts down gracefully: the listener
// closes, event streams end, requests in flight finish (up to
// --shutdown-timeout), the sweeper stops, the store closes. A mistake in
// the configuration is returned as a cli.UsageError, -h as flag.ErrHelp once
// the usage is printed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "draw" {
		return runDraw(args[1:], os.Stdin, stdout)
	}
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return err
	}
	if err != nil {
		return cli.Usage(err)
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel}))
	if cfg.tokenTrimmedFrom != "" {
		log.Warn("trimmed whitespace around the admin token: HTTP strips it from the Authorization header, so the token as given could never match (a trailing newline from an env file or a mounted secret, most likely)",
			"from", cfg.tokenTrimmedFrom)
	}
	// The shop's keys are read before anything starts: a bad file is the
	// operator's mistake, one line and exit 2.
	shop, err := loadShop(cfg)
	if err != nil {
		return cli.Usage(err)
	}
	hookKeys, err := webhookKeys(cfg)
	if err != nil {
		return cli.Usage(err)
	}
	st, err := openStore(ctx, cfg, log)
	if errors.Is(err, errStopped) {
		log.Info("stopped", "before", "the store opened")
		return nil
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.inventory >= 0 {
		if err := initializeOnce(ctx, st, cfg.inventory, log); err != nil {
			return err
		}
	}
	hooks, err := startWebhooks(ctx, cfg, hookKeys, st, log)
	if err != nil {
		return err
	}
	if hooks != nil {
		defer hooks.Close() // before the store closes: it records where delivery stands
	}
	tokenGenerated := cfg.adminToken == ""
	if tokenGenerated {
		cfg.adminToken = randomToken()
	}
	apiCfg := httpapi.Config{
		Store:             st,
		AdminToken:        cfg.adminToken,
		RateLimit:         cfg.rateLimit,
		RateBurst:         cfg.rateBurst,
		NewShopperRate:    cfg.newShopperRate,
		NewShopperBurst:   cfg.newShopperBurst,
		TrustedProxies:    cfg.trustedProxies,
		MaxStreams:        cfg.maxStreams,
		MaxStreamsPerUser: cfg.maxUserStreams,
		Logger:            log,
		Webhooks:          hooks,
	}
	if shop != nil {
		apiCfg.Shoppers = shop
	}
	stopReload := reloadOnHangup(cfg, shop, hooks, log)
	defer stopReload()
	api, err := httpapi.New(apiCfg)
	if err != nil {
		return err
	}
	defer api.Close()
	handler := withPprof(api, cfg.pprof)

	// Bind before serving, so that a bad address fails here and the logged
	// address (with the port the kernel picked for :0) is already live.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if tokenGenerated {
		// Only once bound: a token logged for a server that never started
		// would be a secret in the log for nothing, and a false lead.
		log.Info("no admin token configured; generated one for this run", "admin_token", cfg.adminToken)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Event streams never go idle, and Shutdown waits for connections to:
	// ending them first lets it finish. Their clients reconnect.
	srv.RegisterOnShutdown(api.Close)

	sweepCtx, stopSweep := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		sale.Sweep(sweepCtx, st, cfg.sweepInterval, sweepReport(log))
	}()
	defer func() { stopSweep(); <-swept }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "store", cfg.store, "hold_ttl", cfg.holdTTL.String(),
		"idempotency_ttl", cfg.idempotencyTTL.String(),
		"rate_limit", cfg.rateLimit, "rate_burst", cfg.rateBurst, "max_streams", cfg.maxStreams,
		"max_streams_per_user", cfg.maxUserStreams, "new_shopper_rate", cfg.newShopperRate,
		"new_shopper_burst", cfg.newShopperBurst, "shopper_tokens", shopperTokens(shop), "pprof", cfg.pprof)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// withPprof serves net/http/pprof beside api when on is set.
func withPprof(api http.Handler, on bool) http.Handler {
	if !on {
		return api
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", api)
	return mux
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: flashsale [flags]   (each flag is also FLASHSALE_<NAME> in the environment; a flag given on the command line wins)")
	fmt.Fprintln(w, "       flashsale draw --seed HEX --entrants FILE   (recompute a sale's draw; flashsale draw -h)")
	fs := flags(&config{})
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// initializeOnce initializes a sale that has not been, with --inventory's
// units. A sale already initialized (a restart of a durable store, the
// second of several servers started with the same command) is left as it
// is: only POST /initialize changes a running sale.
func initializeOnce(ctx context.Context, st sale.Store, units int64, log *slog.Logger) error {
	status, err := st.Status(ctx)
	if err != nil {
		return fmt.Errorf("initialize inventory: %w", err)
	}
	if status.Initialized {
		log.Info("the sale is already initialized; --inventory leaves it as it is", "inventory", units, "total", status.Total)
		return nil
	}
	if _, err := sale.Initialize(ctx, st, units, false); err != nil {
		return fmt.Errorf("initialize inventory: %w", err)
	}
	return nil
}

// sweepReport logs the sweeper's failures: a store that is unavailable (its
// database down) once when it goes and once when it is back, at WARN, not
// every interval; anything else, which is a bug, each time at ERROR.
func sweepReport(log *slog.Logger) func(error) {
	down := false
	return func(err error) {
		switch {
		case err == nil:
			if down {
				log.Info("sweeper: the store is back")
			}
			down = false
		case errors.Is(err, sale.ErrUnavailable):
			if !down {
				log.Warn("sweeper: the store is unavailable; trying again each interval", "err", err)
			}
			down = true
		default:
			log.Error("sweep expired holds", "err", err)
		}
	}
}
