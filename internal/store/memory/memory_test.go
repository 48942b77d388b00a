package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// open makes an empty memory store: the factory both checks take.
func open(t *testing.T, cfg sale.Config) sale.Store {
	s, err := memory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { conformance.Run(t, open) }

func TestLinearizable(t *testing.T) { conformance.Linearizable(t, open, 100) }

func TestNewRejectsNegativeTTL(t *testing.T) {
	if _, err := memory.New(sale.Config{HoldTTL: -time.Second}); err == nil {
		t.Fatal("New accepted a negative hold TTL")
	}
}

// TestCancelledContext: a request whose context is already done changes
// nothing and says why.
func TestCancelledContext(t *testing.T) {
	s, err := memory.New(sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Initialize(t.Context(), 1, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]error{}
	_, calls["initialize"] = s.Initialize(ctx, 5, true)
	_, calls["reserve"] = s.Reserve(ctx, "a")
	_, calls["confirm"] = s.Confirm(ctx, "x")
	_, calls["cancel"] = s.Cancel(ctx, "x")
	_, calls["reservation"] = s.Reservation(ctx, "x")
	_, calls["user"] = s.User(ctx, "a")
	calls["leave"] = s.Leave(ctx, "a")
	_, calls["status"] = s.Status(ctx)
	_, calls["expire"] = s.Expire(ctx)
	for op, err := range calls {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", op, err)
		}
	}
	st, err := s.Status(t.Context())
	if err != nil || st != (sale.Status{Initialized: true, Total: 1, Available: 1}) {
		t.Fatalf("after cancelled calls: %+v, %v", st, err)
	}
}
