package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/flashsale/flashsale/internal/store/postgres"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

// errStopped: the server was told to stop (SIGINT, SIGTERM) before its
// store opened, while it waited for the database. Not a failure.
var errStopped = errors.New("stopped before the store opened")

// The wait for PostgreSQL at start: one attempt, then a pause that grows
// from waitFirst to waitMax between attempts.
const (
	waitFirst = time.Second
	waitMax   = 5 * time.Second
)

// openStore opens the store the configuration names. A durable one is
// rebuilt from its file or database first, which the log reports with what
// it found.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*store.Store, error) {
	scfg := sale.Config{HoldTTL: cfg.holdTTL, KeyTTL: cfg.idempotencyTTL, Outbox: cfg.outboxConfig()}
	start := time.Now()
	var (
		st    *store.Store
		err   error
		where []any // what the log says of where the sale is
	)
	switch cfg.store {
	case "memory":
		return memory.New(scfg)
	case "sqlite":
		st, err = sqlite.Open(ctx, cfg.db, scfg)
		where = []any{"db", cfg.db}
	case "postgres":
		st, err = openPostgres(ctx, cfg.dsn, scfg, log)
		where = []any{"dsn", pgdsn.Redact(cfg.dsn)}
	default:
		return nil, fmt.Errorf("unknown store %q", cfg.store) // parseConfig refuses it first
	}
	if err != nil {
		return nil, err
	}
	status, err := st.Status(ctx)
	if err != nil {
		st.Close()
		if ctx.Err() != nil {
			return nil, errStopped
		}
		return nil, pgdsn.RedactError(err, cfg.dsn)
	}
	log.Info("sale database opened", append(where, "took", time.Since(start).String(),
		"initialized", status.Initialized, "total", status.Total, "available", status.Available,
		"held", status.Held, "confirmed", status.Confirmed, "waiting", status.Waiting)...)
	return st, nil
}

// openPostgres opens the sale in PostgreSQL. While the database cannot be
// reached (it is down, starting up, or not yet up when the servers start
// together) it waits, logging each failed attempt, until the database
// answers or ctx ends; anything else (a bad DSN, a refused password, a
// missing database) will not cure itself and is returned at once. The DSN's
// password appears in neither the log nor the error.
func openPostgres(ctx context.Context, dsn string, cfg sale.Config, log *slog.Logger) (*store.Store, error) {
	pause := waitFirst
	for attempt := 1; ; attempt++ {
		st, err := postgres.Open(ctx, dsn, cfg)
		switch {
		case err == nil:
			return st, nil
		case ctx.Err() != nil:
			return nil, errStopped
		case !errors.Is(err, sale.ErrUnavailable):
			return nil, pgdsn.RedactError(err, dsn)
		}
		log.Warn("waiting for PostgreSQL", "dsn", pgdsn.Redact(dsn), "attempt", attempt,
			"retry_in", pause.String(), "reason", pgdsn.RedactError(err, dsn).Error())
		select {
		case <-ctx.Done():
			return nil, errStopped
		case <-time.After(pause):
		}
		pause = min(2*pause, waitMax)
	}
}
