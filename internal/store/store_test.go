package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/conformance"
	"github.com/flashsale/flashsale/internal/sale"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cfg sale.Config) sale.Store {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewRejectsNegativeTTL(t *testing.T) {
	if _, err := New(sale.Config{HoldTTL: -time.Second}); err == nil {
		t.Fatal("New accepted a negative hold TTL")
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ttl != sale.DefaultHoldTTL {
		t.Fatalf("ttl %v, want the default %v", s.ttl, sale.DefaultHoldTTL)
	}
	if _, ok := s.clock.(sale.SystemClock); !ok {
		t.Fatalf("clock %T, want sale.SystemClock", s.clock)
	}
}

// TestResetPurgesDirectories: after a reset, the old sale's accounts and holds
// are not only invisible but gone, so a store that runs sale after sale does
// not keep every sale's users.
func TestResetPurgesDirectories(t *testing.T) {
	ctx := t.Context()
	s, err := New(sale.Config{HoldTTL: time.Minute, Clock: clocktest.New(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Initialize(ctx, 2, false); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"a", "b", "c", "d"} {
		if _, err := s.Reserve(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if got := countEntries(s.users) + countEntries(s.holds); got != 6 {
		t.Fatalf("before reset: %d entries, want 4 users and 2 holds", got)
	}
	if _, err := s.Initialize(ctx, 2, true); err != nil {
		t.Fatal(err)
	}
	if got := countEntries(s.users) + countEntries(s.holds); got != 0 {
		t.Fatalf("after reset: %d entries of the old sale remain", got)
	}
	if _, err := s.Reserve(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if u, h := countEntries(s.users), countEntries(s.holds); u != 1 || h != 1 {
		t.Fatalf("new sale: %d users, %d holds; want 1 and 1", u, h)
	}
}

func countEntries[T any](d *directory[T]) int {
	n := 0
	for i := range d.shards {
		d.shards[i].mu.Lock()
		n += len(d.shards[i].m)
		d.shards[i].mu.Unlock()
	}
	return n
}

// TestCancelledContext: a request whose context is already done changes
// nothing and says why.
func TestCancelledContext(t *testing.T) {
	s, err := New(sale.Config{})
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
