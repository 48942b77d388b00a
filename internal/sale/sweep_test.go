package sale_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// counting is a Store whose Expire counts calls and fails on the first.
type counting struct {
	sale.Store
	calls atomic.Int32
}

func (c *counting) Expire(context.Context) (int, error) {
	if c.calls.Add(1) == 1 {
		return 0, errors.New("transient")
	}
	return 0, nil
}

func TestSweepKeepsGoingAfterErrorsAndStops(t *testing.T) {
	s := &counting{}
	ctx, cancel := context.WithCancel(context.Background())
	var errs atomic.Int32
	done := make(chan struct{})
	go func() {
		sale.Sweep(ctx, s, time.Millisecond, func(err error) {
			if err != nil {
				errs.Add(1)
			}
		})
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Sweep did not return after its context was cancelled")
	}
	if s.calls.Load() < 3 {
		t.Fatalf("Expire called %d times, want the sweep to go on after an error", s.calls.Load())
	}
	if errs.Load() != 1 {
		t.Fatalf("%d errors reported, want 1", errs.Load())
	}
}

func TestStatusBalanced(t *testing.T) {
	for _, c := range []struct {
		s    sale.Status
		want bool
	}{
		{sale.Status{Total: 10, Available: 3, Held: 4, Confirmed: 3}, true},
		{sale.Status{Total: 10, Available: 0, Held: 4, Confirmed: 6, Waiting: 5}, true},
		{sale.Status{Total: 10, Available: 1, Held: 4, Confirmed: 5, Waiting: 1}, false}, // stock and a line
		{sale.Status{Total: 10, Available: 0, Held: 5, Confirmed: 6}, false},             // oversold
		{sale.Status{Total: 10, Available: -1, Held: 5, Confirmed: 6}, false},
	} {
		if got := c.s.Balanced(); got != c.want {
			t.Errorf("%+v.Balanced() = %v, want %v", c.s, got, c.want)
		}
	}
}
