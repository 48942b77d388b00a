package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

// openStore opens the store the configuration names. A durable one is
// rebuilt from its file first, which the log reports with what it found.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*store.Store, error) {
	scfg := sale.Config{HoldTTL: cfg.holdTTL}
	if cfg.store == "memory" {
		return memory.New(scfg)
	}
	start := time.Now()
	st, err := sqlite.Open(ctx, cfg.db, scfg)
	if err != nil {
		return nil, err
	}
	status, err := st.Status(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Info("sale database opened", "db", cfg.db, "took", time.Since(start).String(),
		"initialized", status.Initialized, "total", status.Total, "available", status.Available,
		"held", status.Held, "confirmed", status.Confirmed, "waiting", status.Waiting)
	return st, nil
}
