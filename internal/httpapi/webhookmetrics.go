package httpapi

import (
	"context"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// webhookCollector reports webhook delivery: this server's counts per
// endpoint, and each endpoint's lag from the store, which every server
// reports alike whichever of them delivers.
type webhookCollector struct {
	store      sale.Store
	deliverer  *webhook.Deliverer
	deliveries *prometheus.Desc
	retries    *prometheus.Desc
	dead       *prometheus.Desc
	leading    *prometheus.Desc
	lag        *prometheus.Desc
}

func newWebhookCollector(store sale.Store, d *webhook.Deliverer) *webhookCollector {
	endpoint := []string{"endpoint"}
	return &webhookCollector{
		store:     store,
		deliverer: d,
		deliveries: prometheus.NewDesc("flashsale_webhook_deliveries_total",
			"Webhook calls made by this server, by endpoint (its URL without query) and outcome: delivered (a 2xx) or failed (anything else, a timeout, a refused connection).",
			[]string{"endpoint", "outcome"}, nil),
		retries: prometheus.NewDesc("flashsale_webhook_retries_total",
			"Webhook calls by this server that were not an event's first attempt.", endpoint, nil),
		dead: prometheus.NewDesc("flashsale_webhook_dead_letters_total",
			"Events this server gave up on after --webhook-max-age (each is logged with its webhook-id).", endpoint, nil),
		leading: prometheus.NewDesc("flashsale_webhook_leading",
			"1 while this server holds the endpoint's lease and delivers to it.", endpoint, nil),
		lag: prometheus.NewDesc("flashsale_webhook_lag_events",
			"Events committed after the endpoint's recorded cursor (absent when the store did not answer).", endpoint, nil),
	}
}

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.deliveries, c.retries, c.dead, c.leading, c.lag} {
		ch <- d
	}
}

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.deliverer.Stats() {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.CounterValue, float64(s.Delivered), s.Endpoint, "delivered")
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.CounterValue, float64(s.Failed), s.Endpoint, "failed")
		ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(s.Retries), s.Endpoint)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.CounterValue, float64(s.DeadLetter), s.Endpoint)
		leading := 0.0
		if s.Leading {
			leading = 1
		}
		ch <- prometheus.MustNewConstMetric(c.leading, prometheus.GaugeValue, leading, s.Endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusScrapeTimeout)
	defer cancel()
	endpoints, newest, err := webhookEndpoints(ctx, c.store)
	if err != nil {
		return
	}
	for _, e := range endpoints {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(newest-min(newest, e.Cursor)), webhook.Label(e.URL))
	}
}
