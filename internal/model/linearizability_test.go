package model_test

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/model"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// Every script and fuzzed sequence here starts at the same instant and holds
// last three seconds, so holds expire in the middle of them.
var (
	start = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	ttl   = 3 * time.Second
)

// newMemStore is the in-memory store the scripts and the fuzz target drive.
// (Every backend's own tests run the random linearizability check,
// conformance.Linearizable; this package checks the checker and the HTTP
// stack.)
func newMemStore(t testing.TB, clock sale.Clock) sale.Store {
	s, err := memory.New(sale.Config{HoldTTL: ttl, Clock: clock, Seeds: model.Seeds()})
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
