// Command flashsale serves the reservation API.
//
//	flashsale --addr 127.0.0.1:8080 --inventory 100                 # in memory
//	flashsale --store sqlite --db sale.db --inventory 100           # survives kill -9
//	flashsale --store postgres --dsn postgres://USER@HOST/DB        # several servers, one sale
//
// See `flashsale -h` for flags; each is also FLASHSALE_<NAME> in the
// environment.
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
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully: the listener
// closes, requests in flight finish (up to --shutdown-timeout), the sweeper
// stops, the store closes.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return err
	}
	if err != nil {
		return fmt.Errorf("bad configuration: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel}))
	if getenv("GOGC") == "" {
		// Each request allocates a few KB that die at once, and the store's
		// live heap is small: collecting less often buys about a fifth of
		// the CPU per request (docs/benchmarks.md) for a larger heap.
		debug.SetGCPercent(cfg.gcPercent)
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
	if cfg.adminToken == "" {
		cfg.adminToken = randomToken()
		log.Info("no admin token configured; generated one for this run", "admin_token", cfg.adminToken)
	}

	api, err := httpapi.New(httpapi.Config{
		Store:      st,
		AdminToken: cfg.adminToken,
		RateLimit:  cfg.rateLimit,
		RateBurst:  cfg.rateBurst,
		Logger:     log,
	})
	if err != nil {
		return err
	}
	handler := api
	if cfg.pprof {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/", api)
		handler = mux
	}

	// Bind before serving, so that a bad address fails here and the logged
	// address (with the port the kernel picked for :0) is already live.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
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
		"rate_limit", cfg.rateLimit, "rate_burst", cfg.rateBurst, "pprof", cfg.pprof)

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

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: flashsale [flags]   (each flag is also FLASHSALE_<NAME> in the environment)")
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
	if _, err := st.Initialize(ctx, units, false); err != nil {
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
