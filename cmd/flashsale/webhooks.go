package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/webhook"
)

// urlList is --webhook-url: given once per endpoint, or, from the
// environment, as one value of URLs separated by spaces.
type urlList []string

func (l *urlList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, " ")
}

func (l *urlList) Set(v string) error {
	*l = append(*l, strings.Fields(v)...)
	return nil
}

// Get makes it a flag.Getter, as every flag of the server is.
func (l *urlList) Get() any { return *l }

// outboxConfig is what the store keeps cursors for.
func (c *config) outboxConfig() sale.OutboxConfig {
	return sale.OutboxConfig{Endpoints: c.webhookURLs, MaxAge: c.webhookMaxAge}
}

// checkWebhooks wants the endpoints and the secret together, and endpoints
// the store can keep.
func (c *config) checkWebhooks(from origins) error {
	switch {
	case len(c.webhookURLs) > 0 && c.webhookSecretFile == "":
		return fmt.Errorf("%s needs %s, the file of the secret that signs the calls (whsec_ and base64)", from.name("webhook-url"), from.name("webhook-secret-file"))
	case len(c.webhookURLs) == 0 && c.webhookSecretFile != "":
		return fmt.Errorf("%s is for webhooks: give %s too", from.name("webhook-secret-file"), from.name("webhook-url"))
	}
	if c.webhookMaxAge < time.Second {
		return fmt.Errorf("%s must be at least 1s", from.setting("webhook-max-age", c.webhookMaxAge))
	}
	if _, err := c.outboxConfig().WithDefaults(); err != nil {
		return fmt.Errorf("%s: %w", from.name("webhook-url"), err)
	}
	return nil
}

// webhookKeys reads the secret file, or nil when webhooks are off.
func webhookKeys(c config) ([][]byte, error) {
	if c.webhookSecretFile == "" {
		return nil, nil
	}
	text, err := os.ReadFile(c.webhookSecretFile)
	if err != nil {
		return nil, fmt.Errorf("-webhook-secret-file: %w", err)
	}
	keys, err := webhook.ParseSecrets(string(text))
	if err != nil {
		return nil, fmt.Errorf("-webhook-secret-file %s: %w", c.webhookSecretFile, err)
	}
	return keys, nil
}

// startWebhooks starts delivering st's events to the configured endpoints;
// nil when there are none.
func startWebhooks(ctx context.Context, c config, keys [][]byte, st interface {
	sale.Outbox
	sale.Keyring
}, log *slog.Logger) (*webhook.Deliverer, error) {
	if len(c.webhookURLs) == 0 {
		return nil, nil
	}
	epoch, err := webhook.EpochOf(ctx, st)
	if err != nil {
		return nil, err
	}
	d, err := webhook.Start(webhook.Config{
		Outbox:    st,
		Endpoints: c.webhookURLs,
		Keys:      keys,
		Encode:    httpapi.EncodeWebhook,
		Epoch:     epoch,
		MaxAge:    c.webhookMaxAge,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(c.webhookURLs))
	for i, u := range c.webhookURLs {
		labels[i] = webhook.Label(u)
	}
	log.Info("webhooks: delivering the sale's events", "endpoints", labels, "secrets", len(keys), "max_age", c.webhookMaxAge.String())
	return d, nil
}
