// Package httpapi serves the sale over HTTP as api/openapi.yaml describes it:
// generated routing and typed handlers, request validation against the
// document, RFC 9457 problem bodies for every error, per-user rate limiting,
// the users' event streams, Prometheus metrics, the document itself with
// Swagger UI, and the waiting-room page.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/flashsale/flashsale/api"
	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/web"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui/v5emb"
)

// Config is what the HTTP layer needs.
type Config struct {
	Store sale.Store
	// Live follows Store's events for the event streams and the wait
	// estimates. It must not be nil; its owner closes it at shutdown.
	Live *live.Hub
	// AdminToken guards POST /initialize. It must not be empty.
	AdminToken string
	// RateLimit is how many reservation attempts per second each user may
	// make, with bursts of RateBurst. 0 turns rate limiting off.
	RateLimit float64
	RateBurst int
	// Logger gets errors, and each request at debug level; nil discards.
	Logger *slog.Logger
	// Registry gets the metrics served at /metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	// Now tells the time to the rate limiter; nil means time.Now.
	Now func() time.Time
}

// New returns the whole HTTP stack as one handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: no store")
	}
	if cfg.Live == nil {
		return nil, errors.New("httpapi: no live hub")
	}
	if cfg.AdminToken == "" {
		return nil, errors.New("httpapi: empty admin token")
	}
	if err := CheckRateLimit(cfg.RateLimit, cfg.RateBurst); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	spec, err := generated.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded spec: %w", err)
	}
	validator, err := newRequestValidator(spec, cfg.AdminToken, log)
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	m, err := newMetrics(reg, cfg.Store, cfg.Live)
	if err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}

	h := &handlers{store: cfg.Store, live: cfg.Live, limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		now: now, log: log, eventsSent: m.sentEvent}
	strict := generated.NewStrictHandlerWithOptions(h, []generated.StrictMiddlewareFunc{finishWhatArrived}, generated.StrictHTTPServerOptions{
		// Reached only if a body the validator passed fails to decode.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, validationProblem(err))
		},
		// The store's errors that are part of the rules became typed
		// responses in the handlers; what is left is an outage or a bug.
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return // the client left (only a stream keeps its context): nobody to answer
			}
			if errors.Is(err, sale.ErrUnavailable) {
				log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
				writeUnavailable(w, err)
				return
			}
			log.Error("handler failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeProblem(w, internalProblem())
		},
	})

	r := chi.NewRouter()
	r.Use(noStore, headAsGet, recoverer(log), observe(m, log))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem(probNotFound, "no route "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allow := allowedMethods(r, req.URL.Path)
		w.Header().Set("Allow", allow)
		writeProblem(w, problem(probMethod, fmt.Sprintf("%s is not allowed on %s; allowed: %s", req.Method, req.URL.Path, allow)))
	})

	r.Get("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}).ServeHTTP)
	r.Get("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(api.Spec)
	})
	room := page{files: web.Files()}
	r.Get("/", room.index)
	r.Get("/static/*", room.static)
	docs := v5emb.New("flashsale API", "/openapi.yaml", "/docs/")
	r.Get("/docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently).ServeHTTP)
	r.Get("/docs/*", docs.ServeHTTP)

	r.Group(func(r chi.Router) {
		r.Use(validator.middleware)
		generated.HandlerWithOptions(strict, generated.ChiServerOptions{
			BaseRouter: r,
			ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
				writeProblem(w, problem(probInvalid, err.Error()))
			},
		})
	})
	return r, nil
}

// allowedMethods lists the methods routed for path, for the Allow header of
// a 405 answer (RFC 9110 requires it). HEAD is served wherever GET is.
func allowedMethods(r chi.Routes, path string) string {
	allow := ""
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if r.Match(chi.NewRouteContext(), m, path) {
			if allow != "" {
				allow += ", "
			}
			allow += m
			if m == http.MethodGet {
				allow += ", " + http.MethodHead
			}
		}
	}
	return allow
}
