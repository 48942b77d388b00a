package httpapi

import (
	"context"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/prometheus/client_golang/prometheus"
)

// statusScrapeTimeout bounds the store read of one scrape, so that /metrics
// answers (with flashsale_store_up 0) when the store does not.
const statusScrapeTimeout = time.Second

// saleCollector reports the sale's numbers from one Status read per scrape.
// Separate reads, one per gauge, could each see a different moment and show
// numbers that do not add up (available + held + confirmed != total).
type saleCollector struct {
	store  sale.Store
	up     *prometheus.Desc
	gauges []saleGauge
}

type saleGauge struct {
	desc *prometheus.Desc
	get  func(sale.Status) int64
}

func newSaleCollector(store sale.Store) *saleCollector {
	gauge := func(name, help string, get func(sale.Status) int64) saleGauge {
		return saleGauge{prometheus.NewDesc(name, help, nil, nil), get}
	}
	return &saleCollector{
		store: store,
		up: prometheus.NewDesc("flashsale_store_up",
			"1 when the sale's store answered this scrape, 0 when it did not (the flashsale_inventory_*, holds, units and waitlist series are then left out).", nil, nil),
		gauges: []saleGauge{
			gauge("flashsale_inventory_total", "Units for sale.", func(s sale.Status) int64 { return s.Total }),
			gauge("flashsale_inventory_available", "Units in stock.", func(s sale.Status) int64 { return s.Available }),
			gauge("flashsale_holds_active", "Units held and not yet confirmed.", func(s sale.Status) int64 { return s.Held }),
			gauge("flashsale_units_confirmed", "Units sold.", func(s sale.Status) int64 { return s.Confirmed }),
			gauge("flashsale_waitlist_size", "Users waiting in line.", func(s sale.Status) int64 { return s.Waiting }),
		},
	}
}

func (c *saleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	for _, g := range c.gauges {
		ch <- g.desc
	}
}

func (c *saleCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statusScrapeTimeout)
	defer cancel()
	st, err := c.store.Status(ctx)
	if err != nil {
		// Absent series, not made-up values: a graph shows the gap, and
		// the scrape still serves every other series.
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, g := range c.gauges {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.get(st)))
	}
}
