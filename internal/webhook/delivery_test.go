package webhook_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// TestEveryEventOnceInOrder: a sale of 1,000 shoppers on every store (and
// two servers on one PostgreSQL database, whichever of them delivers):
// the shop's receiver accepts every event that is sent, each once, in
// feed order, each signed.
func TestEveryEventOnceInOrder(t *testing.T) {
	_, keys := newKeys(t)
	for _, v := range testkit.Variants {
		t.Run(v.Name, func(t *testing.T) {
			rcv := testkit.NewReceiver(t, keys, nil)
			s := testkit.Start(t, testkit.Options{Store: v.Store, Servers: v.Servers,
				Webhooks: webhook.Config{Endpoints: []string{rcv.URL}, Keys: keys}})
			crowd(t, s, 300, 1000)
			want := sent(t, s.Server().Store, 0)
			rcv.WaitAccepted(t, want[len(want)-1], time.Minute)
			calls := rcv.Calls()
			testkit.CheckDelivery(t, calls, want)
			if len(calls) != len(want) {
				t.Fatalf("%d calls for %d events: with a receiver that never fails, each is sent once", len(calls), len(want))
			}
			checkPayloads(t, calls)
		})
	}
}

// checkPayloads reads what a shop reads: each body is a WebhookEvent whose
// data is the user's state or the sale's status after the event.
func checkPayloads(t *testing.T, calls []testkit.Call) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range calls {
		var body struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if body.Timestamp.IsZero() || body.Timestamp.Location() != time.UTC {
			t.Fatalf("%s: timestamp %v, want a UTC time", c.ID, body.Timestamp)
		}
		seen[body.Type]++
		var data struct {
			UserID      string `json:"user_id"`
			State       string `json:"state"`
			Reservation *struct {
				Status string `json:"status"`
			} `json:"reservation"`
			Total *int64 `json:"total_inventory"`
		}
		if err := json.Unmarshal(body.Data, &data); err != nil {
			t.Fatalf("%s: data: %v", c.ID, err)
		}
		want := map[string]string{"user.granted": "held", "user.promoted": "held", "user.confirmed": "confirmed",
			"user.cancelled": "none", "user.left": "none", "user.joined": "waiting"}[body.Type]
		if want != "" && data.State != want {
			t.Fatalf("%s (%s): state %q, want %q: %s", c.ID, body.Type, data.State, want, c.Body)
		}
		if body.Type == "user.cancelled" && (data.Reservation == nil || data.Reservation.Status != "cancelled") {
			t.Fatalf("%s: a cancelled hold's user state carries the cancelled reservation: %s", c.ID, c.Body)
		}
		if body.Type == "sale.initialized" && (data.Total == nil || *data.Total != 300) {
			t.Fatalf("%s: the status after the initialize: %s", c.ID, c.Body)
		}
	}
	for _, typ := range []string{"sale.initialized", "user.granted", "user.joined", "user.promoted", "user.confirmed", "user.cancelled", "user.left"} {
		if seen[typ] == 0 {
			t.Errorf("no %s call among %v", typ, seen)
		}
	}
}
