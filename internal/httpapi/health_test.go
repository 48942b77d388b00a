package httpapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// sick is a store whose backend can be switched off, standing in for a
// database server that went down: its Health reports why.
type sick struct {
	sale.Store
	down atomic.Bool
}

func (s *sick) Health(context.Context) error {
	if s.down.Load() {
		return fmt.Errorf("%w: PostgreSQL at 127.0.0.1:5432 does not answer: connection refused", sale.ErrUnavailable)
	}
	return nil
}

// /healthz answers 200 while the store answers, and the documented 503
// problem, with Retry-After and the reason, while it does not; the server
// goes on serving and answers 200 again once the store is back.
func TestHealthSaysWhenTheStoreIsDown(t *testing.T) {
	var s *sick
	h := newHarness(t, wrapped(func(st sale.Store) sale.Store { // every answer is checked against api/openapi.yaml
		s = &sick{Store: st}
		return s
	}))

	health := func() (int, []byte, string) {
		t.Helper()
		r, err := h.client.GetHealthWithResponse(h.ctx())
		if err != nil {
			t.Fatalf("healthz: %v", err)
		}
		return r.StatusCode(), r.Body, r.HTTPResponse.Header.Get("Retry-After")
	}

	if code, body, _ := health(); code != 200 {
		t.Fatalf("healthz with the store up: %d %s", code, body)
	}

	s.down.Store(true)
	code, body, retry := health()
	p := wantProblem(t, code, 503, body, "/problems/unavailable")
	if secs, err := strconv.Atoi(retry); err != nil || secs < 1 {
		t.Errorf("503 with Retry-After %q", retry)
	}
	if !strings.Contains(*p.Detail, "store is down") || !strings.Contains(*p.Detail, "connection refused") {
		t.Errorf("the detail does not say the store is down and why: %q", *p.Detail)
	}

	s.down.Store(false)
	if code, body, _ := health(); code != 200 {
		t.Fatalf("healthz once the store is back: %d %s", code, body)
	}
}

// A store without a health check (the memory store before it had one) is
// healthy while the process serves.
func TestHealthWithoutAHealthCheck(t *testing.T) {
	h := newHarness(t, wrapped(func(st sale.Store) sale.Store { return struct{ sale.Store }{st} }))
	r, err := h.client.GetHealthWithResponse(h.ctx())
	if err != nil || r.StatusCode() != 200 {
		t.Fatalf("healthz: %v %d", err, r.StatusCode())
	}
}
