package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/go-chi/chi/v5"
)

// recoverer turns a handler's panic into a 500 problem and a logged stack,
// and the server goes on serving. http.ErrAbortHandler is net/http's own way
// to abort a response and is passed on.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				writeProblem(w, internalProblem())
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// observe records each request's route, status and duration in the metrics,
// and logs it at debug level: at info, a flash sale's crowd would fill the
// log and cost a write per request.
func observe(m *metrics, clock sale.Clock, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := clock.Now()
			ww := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(ww, r)
			status := ww.status
			if status == 0 {
				status = http.StatusOK // the handler wrote nothing
			}
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched" // keeps label cardinality bounded
			}
			elapsed := clock.Now().Sub(start)
			stream := ww.Header().Get("Content-Type") == "text/event-stream"
			m.observe(methodLabel(r.Method), route, status, elapsed, stream)
			// A 5xx was logged, with its cause, where it was made (the
			// store's error, the panic): logging it again here would say
			// less, twice.
			if log.Enabled(r.Context(), slog.LevelDebug) {
				log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", elapsed)
			}
		})
	}
}

// headAsGet routes HEAD as GET (RFC 9110: a resource that answers GET
// answers HEAD, with the same headers and no body; net/http drops the body).
// It sets the method chi routes by rather than registering a HEAD route for
// every GET, so HEAD is routed once, like any request.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			chi.RouteContext(r.Context()).RouteMethod = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// noStore marks every answer as uncacheable, the only place that does: stock
// and positions change from one moment to the next, and so do /metrics. The
// document and the docs page could be cached, but are small and rarely read.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = headerNoStore
		next.ServeHTTP(w, r)
	})
}

// methodLabel keeps label cardinality bounded when clients send made-up methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusWriter notes the status a handler answered with, for observe. It
// has only the ResponseWriter's own methods: http.ResponseController finds
// the rest (Flush, Hijack, SetWriteDeadline) through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers are interim: the status that counts comes after them.
	if w.status == 0 && (code >= http.StatusOK || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
