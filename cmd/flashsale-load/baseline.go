package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/flashsale/flashsale/internal/load"
)

func baselineCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newCommand("baseline", "--admin-token T [--addr HOST:PORT]",
		"Serves the bare net/http handler the real server is measured against: POST /reserve decoded and\n"+
			"answered with the same JSON, one atomic counter for the stock and one for the line, and the new\n"+
			"user's shopper token signed as the real server signs it (HS256); and POST /initialize,\n"+
			"GET /status and GET /healthz, until interrupted.")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	token := fs.String("admin-token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token, for POST /initialize (default $FLASHSALE_ADMIN_TOKEN; required)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if *token == "" {
		return fs.checked(errors.New("--admin-token (or FLASHSALE_ADMIN_TOKEN) is required"))
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	return load.ServeBaseline(ctx, *addr, *token, log)
}
