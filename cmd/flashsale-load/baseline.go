package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/flashsale/flashsale/internal/load"
)

func baselineCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return serveCommand(ctx, args, getenv, stdout, "baseline",
		"Serves the bare net/http handler the real server is measured against: POST /reserve decoded and\n"+
			"answered with the same JSON, one atomic counter for the stock and one for the line, and the new\n"+
			"user's shopper token signed as the real server signs it (HS256); and POST /initialize,\n"+
			"GET /status and GET /healthz, until interrupted.",
		load.ServeBaseline)
}

func refereeCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return serveCommand(ctx, args, getenv, stdout, "referee",
		"Serves the correct hand-written server the real server is measured against (issue 28): POST /reserve\n"+
			"behind one mutex over a map of users, a FIFO line and holds that expire after 5 minutes, one unit per\n"+
			"user, encoding/json and the real server's JSON shapes; each new user's shopper token signed as the\n"+
			"baseline signs it, and a known user's required as Authorization: Bearer; POST /initialize,\n"+
			"GET /status and GET /healthz, until interrupted. No spec, validation library, metrics, logging\n"+
			"or rate limit.",
		load.ServeReferee)
}

// serveCommand is a command that serves one of the load tool's own servers
// on --addr with the admin token --admin-token, until ctx is done.
func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, name, summary string,
	serve func(ctx context.Context, addr, token string, log *slog.Logger) error) error {
	fs := newCommand(name, "--admin-token T [--addr HOST:PORT]", summary)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	token := fs.String("admin-token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token, for POST /initialize (default $FLASHSALE_ADMIN_TOKEN; required)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if *token == "" {
		return fs.checked(errors.New("--admin-token (or FLASHSALE_ADMIN_TOKEN) is required"))
	}
	return serve(ctx, *addr, *token, slog.New(slog.NewJSONHandler(stdout, nil)))
}
