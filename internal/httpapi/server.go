// Package httpapi serves the sale over HTTP as api/openapi.yaml describes it:
// generated routing and typed handlers, request validation against the
// document, RFC 9457 problem bodies for every error, per-user rate limiting,
// the users' event streams, Prometheus metrics, the document itself with
// Swagger UI, and the waiting-room page.
package httpapi

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/flashsale/flashsale/api"
	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/webhook"
	"github.com/flashsale/flashsale/web"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui/v5emb"
)

// Config is what the HTTP layer needs.
type Config struct {
	Store sale.Store
	// AdminToken guards POST /initialize. It must not be empty.
	AdminToken string
	// RateLimit is how many reservation attempts per second each user may
	// make, with bursts of RateBurst. 0 turns rate limiting off.
	RateLimit float64
	RateBurst int
	// Shoppers checks the shop's own tokens. Nil means the sale's own
	// shopper tokens: a new user's first reserve needs none and is
	// answered with one, signed by secrets kept in Store.
	Shoppers shopper.Verifier
	// NewShopperRate is how many new users per second one client address may
	// make (a reserve with no token), with bursts of NewShopperBurst. 0 turns
	// that limit off.
	NewShopperRate  float64
	NewShopperBurst int
	// TrustedProxies are the proxies whose Forwarded or X-Forwarded-For is
	// believed for the client's address; none means the peer's address.
	TrustedProxies []netip.Prefix
	// MaxStreams and MaxStreamsPerUser bound the event streams open at
	// once; zero means live.DefaultMaxStreams and live.DefaultMaxPerUser.
	MaxStreams, MaxStreamsPerUser int
	// Clock tells the time to the rate limiter and the event streams; nil
	// means the system's.
	Clock sale.Clock
	// Logger gets errors, and each request at debug level; nil discards.
	Logger *slog.Logger
	// Registry gets the metrics served at /metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	// Webhooks, when set, is the server's webhook delivery, whose counts
	// /metrics reports.
	Webhooks *webhook.Deliverer
}

// API is the whole HTTP stack as one handler. It follows the store's feed
// for the event streams from New on; Close stops that.
type API struct {
	http.Handler
	live *live.Hub
}

// Close ends every event stream and stops following the store. A server
// shutting down calls it first (http.Server.RegisterOnShutdown): Shutdown
// waits for connections to go idle, which a stream never does.
func (a *API) Close() { a.live.Close() }

// New returns the HTTP stack over cfg.Store.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: no store")
	}
	if cfg.AdminToken == "" {
		return nil, errors.New("httpapi: empty admin token")
	}
	if err := CheckRateLimit(cfg.RateLimit, cfg.RateBurst); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if err := CheckRateLimit(cfg.NewShopperRate, cfg.NewShopperBurst); err != nil {
		return nil, fmt.Errorf("httpapi: new users per address: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	clock := cfg.Clock
	if clock == nil {
		clock = sale.SystemClock{}
	}
	spec, err := generated.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded spec: %w", err)
	}
	var tokens *shopper.Tokens
	verifier := cfg.Shoppers
	if verifier == nil {
		tokens = shopper.NewTokens(cfg.Store, clock)
		verifier = tokens
	}
	auth := &authenticator{admin: sha256.Sum256([]byte(cfg.AdminToken)), shoppers: verifier}
	validator, err := newRequestValidator(spec, auth, cfg.NewShopperRate > 0, cfg.TrustedProxies, log)
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	hub, err := live.Start(live.Config{Store: cfg.Store, Clock: clock, MaxStreams: cfg.MaxStreams, MaxPerUser: cfg.MaxStreamsPerUser, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	m, err := newMetrics(reg, cfg.Store, hub, cfg.Webhooks)
	if err != nil {
		hub.Close()
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}

	h := &handlers{store: cfg.Store, live: hub, limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		newUsers: newLimiter(cfg.NewShopperRate, cfg.NewShopperBurst), tokens: tokens,
		clock: clock, log: log, eventsSent: m.sentEvent}
	strict := generated.NewStrictHandlerWithOptions(h, []generated.StrictMiddlewareFunc{finishWhatArrived}, generated.StrictHTTPServerOptions{
		// Reached only if a body the validator passed fails to decode.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, validationProblem(err))
		},
		// Every error a handler returns is answered here, by one table.
		ResponseErrorHandlerFunc: h.writeError,
	})

	r := chi.NewRouter()
	r.Use(noStore, headAsGet, recoverer(log), observe(m, clock, log))
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
	return &API{Handler: r, live: hub}, nil
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
