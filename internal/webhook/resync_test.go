package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// outbox is the store as a deliverer sees it.
type outbox interface {
	sale.Store
	sale.Outbox
	webhook.Snapshotter
}

// forgetful is a store that no longer keeps the events up to lost, as a
// memory store that reached its bound: Pending leaves them out.
type forgetful struct {
	outbox
	lost atomic.Uint64
}

func (f *forgetful) Pending(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	events, more, err := f.outbox.Pending(ctx, after, limit)
	var kept []sale.Event
	for _, e := range events {
		if e.Seq > f.lost.Load() {
			kept = append(kept, e)
		}
	}
	return kept, more, err
}

// TestEventsGoneGoOnFromTheSaleAsItIs: when the events an endpoint is owed
// are gone (a memory store keeps a bounded number), its deliverer counts
// them as dead letters, says so in the endpoint's state, and goes on from
// the sale as it is: the next calls carry the right state, not one made up
// from a copy that missed events.
func TestEventsGoneGoOnFromTheSaleAsItIs(t *testing.T) {
	_, keys := newKeys(t)
	rcv := testkit.NewReceiver(t, keys, nil)
	st, err := memory.New(sale.Config{Outbox: sale.OutboxConfig{Endpoints: []string{rcv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &forgetful{outbox: st}
	ctx := t.Context()
	if _, err := sale.Initialize(ctx, st, 2, false); err != nil {
		t.Fatal(err)
	}
	var holds []string
	for i := range 5 {
		r, err := sale.Reserve(ctx, st, fmt.Sprintf("early-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Reservation != nil {
			holds = append(holds, r.Reservation.ID)
		}
	}
	// The store lost events 1..4 of the 6 before delivery began.
	f.lost.Store(4)
	cfg := fastRetries([]string{rcv.URL}, keys)
	cfg.Outbox, cfg.Encode, cfg.Epoch = f, httpapi.EncodeWebhook, "test"
	d, err := webhook.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitFor(t, 5*time.Second, func() bool { return d.Stats()[0].Cursor == 6 })
	if _, err := sale.Cancel(ctx, st, holds[0]); err != nil { // early-2, head of the line, promoted
		t.Fatal(err)
	}
	newest, _ := st.Newest(ctx)
	waitFor(t, 5*time.Second, func() bool { return d.Stats()[0].Cursor == newest })

	// Progress is recorded in the outbox after it is made (every 100 ms at
	// the latest): wait for the cursor there.
	waitFor(t, 5*time.Second, func() bool {
		endpoints, err := f.Endpoints(ctx)
		return err == nil && len(endpoints) == 1 && endpoints[0].Cursor == newest
	})
	stats := d.Stats()[0]
	if stats.DeadLetter != 6 { // events 1..6: the copy was made at 6
		t.Errorf("dead letters %d, want 6 (every event up to the copy of the sale it went on from)", stats.DeadLetter)
	}
	endpoints, err := f.Endpoints(ctx)
	if err != nil || endpoints[0].DeadLetters != stats.DeadLetter || endpoints[0].Cursor != newest {
		t.Fatalf("the endpoint's state %+v, %v: want the dead letters and the cursor recorded", endpoints, err)
	}
	// What arrives after is the sale as it is: early-2 promoted to a hold.
	var promoted bool
	for _, c := range rcv.Accepted() {
		var body struct {
			Type string `json:"type"`
			Data struct {
				UserID string `json:"user_id"`
				State  string `json:"state"`
			} `json:"data"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		if c.Seq <= 6 {
			t.Fatalf("event %d was given up, but accepted", c.Seq)
		}
		if body.Type == "user.promoted" && body.Data.UserID == "early-2" && body.Data.State == "held" {
			promoted = true
		}
	}
	if !promoted {
		t.Fatalf("no user.promoted for early-2 among %d calls", len(rcv.Accepted()))
	}
}
