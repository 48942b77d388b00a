package testkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/webhook"
)

// startWebhooks starts the webhook delivery of server number i over st,
// as cmd/flashsale wires it, when opts name endpoints; it stops before the
// store closes (cleanups run last first).
func startWebhooks(t testing.TB, st sale.Store, opts Options, cfg sale.Config, i int) *webhook.Deliverer {
	t.Helper()
	if len(opts.Webhooks.Endpoints) == 0 {
		return nil
	}
	outbox, ok := st.(interface {
		sale.Outbox
		sale.Keyring
	})
	if !ok {
		t.Fatalf("testkit: the %s store keeps no webhook cursors", opts.Store)
	}
	wcfg := opts.Webhooks
	wcfg.Outbox = outbox
	wcfg.Encode = httpapi.EncodeWebhook
	if wcfg.Clock == nil {
		wcfg.Clock = cfg.Clock
	}
	if wcfg.Holder == "" {
		wcfg.Holder = fmt.Sprintf("server-%d", i+1)
	}
	epoch, err := webhook.EpochOf(t.Context(), outbox)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	wcfg.Epoch = epoch
	d, err := webhook.Start(wcfg)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// WebhookSecret makes a fresh Standard Webhooks secret, as a secret file
// holds it (whsec_ and the key in base64), and the keys it reads as.
func WebhookSecret(t testing.TB) (secret string, keys [][]byte) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secret = "whsec_" + base64.StdEncoding.EncodeToString(key)
	keys, err := webhook.ParseSecrets(secret)
	if err != nil {
		t.Fatal(err)
	}
	return secret, keys
}

// SentEvents returns the Seqs of the events in feed that are sent to the
// shop, in feed order, from the first kept: what a receiver there from the
// start must have accepted.
func SentEvents(t testing.TB, feed sale.Feed) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	newest, err := feed.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for after := uint64(0); after < newest; {
		events, _, err := feed.Events(ctx, after, 1024)
		if err != nil {
			t.Fatalf("events after %d: %v", after, err)
		}
		if len(events) == 0 {
			t.Fatalf("no events after %d, but the newest is %d", after, newest)
		}
		for _, e := range events {
			if _, ok := httpapi.WebhookType(e.Kind); ok {
				out = append(out, e.Seq)
			}
			after = e.Seq
		}
	}
	if len(out) == 0 {
		t.Fatal("no event to send in the feed")
	}
	return out
}
