package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/flashsale/flashsale/internal/load"
)

func refereeCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newCommand("referee", "--admin-token T [--addr HOST:PORT]",
		"Serves the correct hand-written server the real server is measured against (issue 28): POST /reserve\n"+
			"behind one mutex over a map of users, a FIFO line and holds that expire after 5 minutes, one unit per\n"+
			"user, encoding/json and the real server's JSON shapes; each new user's shopper token signed as the\n"+
			"baseline signs it, and a known user's required as Authorization: Bearer; POST /initialize,\n"+
			"GET /status and GET /healthz, until interrupted. No spec, validation library, metrics, logging\n"+
			"or rate limit.")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	token := fs.String("admin-token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token, for POST /initialize (default $FLASHSALE_ADMIN_TOKEN; required)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if *token == "" {
		return fs.checked(errors.New("--admin-token (or FLASHSALE_ADMIN_TOKEN) is required"))
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	return load.ServeReferee(ctx, *addr, *token, log)
}
