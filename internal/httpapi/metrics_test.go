package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// saleGauges reads the sale's series from a /metrics body.
func saleGauges(t *testing.T, body []byte) map[string]int64 {
	t.Helper()
	out := make(map[string]int64)
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		switch name {
		case "flashsale_inventory_total", "flashsale_inventory_available", "flashsale_holds_active",
			"flashsale_units_confirmed", "flashsale_waitlist_size", "flashsale_store_up":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			out[name] = int64(f)
		}
	}
	return out
}

// Every scrape is one snapshot of the sale: while holds are taken,
// confirmed and cancelled as fast as the store allows, the numbers of each
// scrape add up. (With one store read per gauge they did not: a scrape
// showed available 98 + held 3 + confirmed 300 against a total of 400.)
func TestSaleMetricsAddUpUnderLoad(t *testing.T) {
	h := newHarness(t)
	const total = 400
	h.initialize(total)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				res, err := sale.Reserve(ctx, h.store, fmt.Sprintf("w%d-%d", w, i))
				if err != nil || res.Reservation == nil {
					continue
				}
				if i%2 == 0 {
					_, _ = sale.Confirm(ctx, h.store, res.Reservation.ID)
				} else {
					_, _ = sale.Cancel(ctx, h.store, res.Reservation.ID)
				}
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()

	for range 200 {
		resp, body := h.raw("GET", "/metrics", "", nil)
		wantStatus(t, resp.StatusCode, 200, body)
		g := saleGauges(t, body)
		if g["flashsale_store_up"] != 1 || g["flashsale_inventory_total"] != total {
			t.Fatalf("scrape: %v", g)
		}
		if sum := g["flashsale_inventory_available"] + g["flashsale_holds_active"] + g["flashsale_units_confirmed"]; sum != total {
			t.Fatalf("available + held + confirmed = %d, want %d: %v", sum, total, g)
		}
	}
}

// statusDown is a store whose Status fails, as a database's does in an outage.
type statusDown struct{ sale.Store }

func (statusDown) Status(context.Context) (sale.Status, error) {
	return sale.Status{}, fmt.Errorf("%w: connection refused", sale.ErrUnavailable)
}

// When the store cannot be read, /metrics still answers with everything
// else, says so in flashsale_store_up, and leaves the sale's series out
// rather than make numbers up.
func TestMetricsWhileTheStoreIsDown(t *testing.T) {
	h := newHarness(t, wrapped(func(s sale.Store) sale.Store { return statusDown{s} }))
	resp, body := h.raw("GET", "/metrics", "", nil)
	wantStatus(t, resp.StatusCode, 200, body)
	g := saleGauges(t, body)
	if up, ok := g["flashsale_store_up"]; !ok || up != 0 {
		t.Errorf("flashsale_store_up = %d (present %v), want 0", up, ok)
	}
	if _, ok := g["flashsale_inventory_total"]; ok {
		t.Errorf("the sale's series are served while the store is down: %v", g)
	}
	if !bytes.Contains(body, []byte("go_goroutines")) {
		t.Errorf("the rest of /metrics is missing")
	}
}

// A retried keyed change is counted as a replay, so an operator sees how
// often shoppers' answers were lost and asked for again.
func TestMetricsCountReplays(t *testing.T) {
	h := newHarness(t)
	h.raw("POST", "/initialize", "application/json", strings.NewReader(`{"total_inventory":1}`), "Authorization", "Bearer "+adminToken)
	replays := func() string {
		_, body := h.raw("GET", "/metrics", "", nil)
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, "flashsale_idempotency_replays_total "); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatal("/metrics has no flashsale_idempotency_replays_total")
		return ""
	}
	// A new user's reserve, sent again by a device that got no answer (so no
	// token).
	for i, want := range []string{"0", "1", "2"} {
		resp, body := h.rawBare("POST", "/reserve", "application/json", strings.NewReader(`{"user_id":"alice"}`), "Idempotency-Key", "k")
		wantStatus(t, resp.StatusCode, 201, body)
		if got := replays(); got != want {
			t.Fatalf("after %d keyed reserves: %s replays, want %s", i+1, got, want)
		}
	}
}
