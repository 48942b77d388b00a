package httpapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// TestWebhookTypesCoverTheDocument: every kind of event is sent with one
// of the document's types, but the scheduled event (it carries the draw's
// secret seed; the initialized event of its commit tells the schedule),
// and every type of the document is sent for exactly one kind.
func TestWebhookTypesCoverTheDocument(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, schema := range []string{"WebhookUserEvent", "WebhookSaleEvent"} {
		for _, v := range spec.Components.Schemas[schema].Value.Properties["type"].Value.Enum {
			documented = append(documented, v.(string))
		}
	}
	var sent []string
	for _, kind := range sale.EventKinds() {
		typ, ok := WebhookType(kind)
		if ok == (kind == sale.EventScheduled) {
			t.Errorf("event %s: sent %v", kind, ok)
		}
		if ok {
			sent = append(sent, typ)
		}
	}
	slices.Sort(documented)
	slices.Sort(sent)
	if !slices.Equal(documented, sent) {
		t.Fatalf("types sent %v, documented %v", sent, documented)
	}
}

// TestEncodeWebhookIsTheStateAfterTheEvent: the body carries the user's
// state (or the sale's status) as the event left it, in the shapes of GET
// /users/{id} and GET /status, and nothing for an event not sent.
func TestEncodeWebhookIsTheStateAfterTheEvent(t *testing.T) {
	r, err := rules.New(sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 14, 0, 0, 123456000, time.FixedZone("CET", 3600))
	events := []sale.Event{
		{Seq: 1, Kind: sale.EventInitialized, At: at, Total: 1},
		{Seq: 2, Kind: sale.EventGranted, At: at, UserID: "alice", ReservationID: "r1", ExpiresAt: at.Add(time.Minute)},
		{Seq: 3, Kind: sale.EventJoined, At: at, UserID: "bob", Position: 1},
		{Seq: 4, Kind: sale.EventExpired, At: at.Add(time.Minute), UserID: "alice", ReservationID: "r1"},
		{Seq: 5, Kind: sale.EventPromoted, At: at.Add(time.Minute), UserID: "bob", ReservationID: "r2", ExpiresAt: at.Add(2 * time.Minute)},
	}
	var bodies []map[string]any
	for _, e := range events {
		if err := r.Apply(e); err != nil {
			t.Fatal(err)
		}
		b, ok, err := EncodeWebhook(e, r)
		if err != nil || !ok {
			t.Fatalf("event %d: %v %v", e.Seq, ok, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, m)
	}
	check := func(i int, typ, path string, want any) {
		t.Helper()
		if bodies[i]["type"] != typ {
			t.Fatalf("event %d: type %v, want %s", i+1, bodies[i]["type"], typ)
		}
		var v any = bodies[i]["data"]
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		if v != want {
			t.Fatalf("event %d: data.%s = %v, want %v (%v)", i+1, path, v, want, bodies[i])
		}
	}
	check(0, "sale.initialized", "available", 1.0)
	check(1, "user.granted", "reservation.expires_at", "2026-12-07T13:01:00.123456Z")
	check(2, "user.joined", "waitlist_position", 1.0)
	check(3, "user.expired", "reservation.status", "expired")
	check(4, "user.promoted", "state", "held")
	if bodies[0]["timestamp"] != "2026-12-07T13:00:00.123456Z" {
		t.Fatalf("timestamp %v: want the event's time in UTC", bodies[0]["timestamp"])
	}
	if _, ok, err := EncodeWebhook(sale.Event{Seq: 6, Kind: sale.EventScheduled, Seed: []byte("secret")}, r); ok || err != nil {
		t.Fatalf("the scheduled event is sent (%v, %v): its seed is secret", ok, err)
	}
}
