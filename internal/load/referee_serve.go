package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeReferee serves the referee on addr until ctx is done, as
// ServeBaseline serves the baseline: the same timeouts, so that the two
// differ in their handlers alone.
func ServeReferee(ctx context.Context, addr, token string, log *slog.Logger) error {
	return serveUntilDone(ctx, "referee", addr, NewReferee(token), log)
}

// serveUntilDone serves h on addr until ctx is done, then shuts down. It
// logs the bound address for a person to read; the benchmarks that start
// it pick its port themselves and never read its log.
func serveUntilDone(ctx context.Context, name, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listen: %w", name, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	log.Info("listening", "addr", ln.Addr().String(), "server", name)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("%s serve: %w", name, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s serve: %w", name, err)
	}
	return nil
}
