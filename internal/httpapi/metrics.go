package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	storepkg "github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series served at /metrics.
//
// Resolving a labelled child (WithLabelValues) costs more than observing it,
// so children are resolved once per (method, route, status) and cached.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// streamEvents counts the events sent on event streams, by name.
	streamEvents *prometheus.CounterVec

	// children: metricKey → *child. A sync.Map, whose reads of keys
	// already there take no lock: every request reads it, on every core.
	children sync.Map
}

// child is one (method, route, status)'s resolved series; timer is nil for
// event streams, which are counted and not timed.
type child struct {
	counter prometheus.Counter
	timer   prometheus.Observer
}

type metricKey struct {
	method, route string
	status        int
}

func newMetrics(reg *prometheus.Registry, store sale.Store, hub *live.Hub, hooks *webhook.Deliverer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashsale_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flashsale_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"method", "route"}),
		streamEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashsale_stream_events_total",
			Help: "Events sent on the users' event streams, by event name (heartbeats as \"heartbeat\").",
		}, []string{"event"}),
	}
	collectorsToRegister := []prometheus.Collector{
		m.requests, m.duration, m.streamEvents,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	// The sale's own numbers: one snapshot per scrape, so they add up.
	collectorsToRegister = append(collectorsToRegister, newSaleCollector(store))
	collectorsToRegister = append(collectorsToRegister, streamCollectors(hub)...)
	if hooks != nil {
		collectorsToRegister = append(collectorsToRegister, newWebhookCollector(store, hooks))
	}
	if src, ok := store.(statsSource); ok {
		collectorsToRegister = append(collectorsToRegister, storeCollectors(src)...)
	}
	for _, c := range collectorsToRegister {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe counts a request, and times it unless it was an event stream,
// whose duration is how long the client watched, not how long the server
// took: one hour-long stream would read as the slowest request of all.
func (m *metrics) observe(method, route string, status int, d time.Duration, stream bool) {
	k := metricKey{method, route, status}
	v, ok := m.children.Load(k)
	if !ok {
		c := &child{counter: m.requests.WithLabelValues(method, route, strconv.Itoa(status))}
		if !stream { // resolving a child makes its series, empty or not
			c.timer = m.duration.WithLabelValues(method, route)
		}
		v, _ = m.children.LoadOrStore(k, c)
	}
	c := v.(*child)
	c.counter.Inc()
	if c.timer != nil {
		c.timer.Observe(d.Seconds())
	}
}

// sentEvent counts one event sent on a stream.
func (m *metrics) sentEvent(event string) {
	if event == "" {
		event = "heartbeat"
	}
	m.streamEvents.WithLabelValues(event).Inc()
}

const streamsRefusedHelp = "Event streams refused, by reason: server_full (503 streams-full) or user_full (429 too-many-streams)."

// streamCollectors report the open event streams and those refused.
func streamCollectors(hub *live.Hub) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashsale_streams_open",
			Help: "Event streams open now.",
		}, func() float64 { return float64(hub.Stats().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "flashsale_streams_refused_total",
			Help:        streamsRefusedHelp,
			ConstLabels: prometheus.Labels{"reason": "server_full"},
		}, func() float64 { return float64(hub.Stats().RefusedFull) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "flashsale_streams_refused_total",
			Help:        streamsRefusedHelp,
			ConstLabels: prometheus.Labels{"reason": "user_full"},
		}, func() float64 { return float64(hub.Stats().RefusedUser) }),
	}
}

// statsSource is a store that batches writes (internal/store with a journal)
// and counts its work.
type statsSource interface{ Stats() storepkg.Stats }

// storeCollectors report the group commit: batches and the calls in them
// (their ratio is the mean batch size), commit time, the largest batch,
// failures, and calls waiting now; and the idempotent retries answered.
func storeCollectors(src statsSource) []prometheus.Collector {
	counter := func(name, help string, get func(storepkg.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return get(src.Stats()) })
	}
	gauge := func(name, help string, get func(storepkg.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return get(src.Stats()) })
	}
	return []prometheus.Collector{
		counter("flashsale_store_batches_total", "Batches committed by the store's writer.", func(s storepkg.Stats) float64 { return float64(s.Batches) }),
		counter("flashsale_store_batched_calls_total", "Calls decided in committed batches.", func(s storepkg.Stats) float64 { return float64(s.Calls) }),
		counter("flashsale_store_events_total", "Events committed.", func(s storepkg.Stats) float64 { return float64(s.Events) }),
		counter("flashsale_store_commit_seconds_total", "Time spent deciding and committing batches.", func(s storepkg.Stats) float64 { return s.CommitTime.Seconds() }),
		counter("flashsale_store_failures_total", "Failed journal transactions (each answered 503).", func(s storepkg.Stats) float64 { return float64(s.Failures) }),
		gauge("flashsale_store_max_batch_calls", "The most calls committed in one batch.", func(s storepkg.Stats) float64 { return float64(s.MaxBatch) }),
		gauge("flashsale_store_queued_calls", "Calls waiting for the writer now.", func(s storepkg.Stats) float64 { return float64(s.Queued) }),
		counter("flashsale_store_followed_events_total", "Events other servers committed that this one applied (a shared database).", func(s storepkg.Stats) float64 { return float64(s.Followed) }),
		counter("flashsale_store_catchup_rounds_total", "Catch-up rounds run before reads and on other servers' notifications (a shared database).", func(s storepkg.Stats) float64 { return float64(s.Rounds) }),
		counter("flashsale_idempotency_replays_total", "Keyed changes answered with their kept first answer instead of being made again.", func(s storepkg.Stats) float64 { return float64(s.Replays) }),
	}
}
