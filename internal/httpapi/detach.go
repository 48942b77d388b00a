package httpapi

import (
	"context"
	"net/http"

	"github.com/flashsale/flashsale/generated"
)

// finishWhatArrived gives each operation a context that the client's
// leaving does not cancel: a request that arrived whole is answered whole.
//
// net/http cancels a request's context when the client closes its side of
// the connection, and a client may close only its sending side and still
// read the answer (a half-close, which `nc -N` does). Cancelling would
// answer that client 500 for a request that was fine, let anyone raise the
// server's error rate for free, and, for a change, leave its outcome unknown
// to a client that is still there to hear it. The store bounds its own work
// (each commit and catch-up has a deadline of its own), so a request whose
// client has gone still ends in bounded time, and its answer is dropped.
//
// The event stream is the exception: it has no end of its own, so the
// client's leaving is what ends it, and it keeps the request's context.
func finishWhatArrived(f generated.StrictHandlerFunc, operationID string) generated.StrictHandlerFunc {
	if operationID == eventsOperation {
		return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
			return f(context.WithValue(ctx, headRequest{}, r.Method == http.MethodHead), w, r, req)
		}
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		return f(context.WithoutCancel(ctx), w, r, req)
	}
}

// headRequest keys the context value saying the stream was asked for with
// HEAD (routed as GET): its answer is the headers alone.
type headRequest struct{}
