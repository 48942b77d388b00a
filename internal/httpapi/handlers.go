package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/shopper"
)

// handlers implements the generated strict server: each method gets a
// decoded, validated request and returns the typed success response that
// api/openapi.yaml lists for it, or an error. Every error, the rules'
// refusals included, is answered by writeError from one table
// (problem.go), so that no handler has a switch of its own.
//
// Malformed input never reaches here: the request validator answers it.
// Who is asking is the validator's to find out too (auth.go), and what they
// may do is acting's (authz.go): handlers reach the sale only through it.
//
// Each POST passes its Idempotency-Key to the store. What the store
// answers, first time or replay, is rendered the same way from the answer
// alone; a replay only adds Idempotency-Replayed: true.
type handlers struct {
	store   sale.Store
	live    *live.Hub
	limiter *limiter // nil when rate limiting is off
	// newUsers limits new names per client address (nil: off).
	newUsers *limiter
	// tokens issues the sale's own shopper tokens; nil with the shop's.
	tokens *shopper.Tokens
	clock  sale.Clock
	log    *slog.Logger
	// eventsSent counts an event sent on a stream, by name.
	eventsSent func(event string)
}

var _ generated.StrictServerInterface = (*handlers)(nil)

func (h *handlers) Initialize(ctx context.Context, req generated.InitializeRequestObject) (generated.InitializeResponseObject, error) {
	reset := req.Body.Reset != nil && *req.Body.Reset
	w := sale.Window{OpensAt: instantOf(req.Body.OpensAt), ClosesAt: instantOf(req.Body.ClosesAt)}
	if err := sale.CheckWindow(w); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidArgument, err)
	}
	c := sale.Call{Op: sale.OpInitialize, Total: req.Body.TotalInventory, Reset: reset, Window: w}
	ans, err := h.as(ctx).change(ctx, c, key(req.Params.IdempotencyKey))
	if err != nil {
		return nil, answered(err, ans)
	}
	return generated.Initialize200JSONResponse{
		Body:    statusJSON(ans.Status),
		Headers: generated.Initialize200ResponseHeaders{IdempotencyReplayed: replayedHeader(ans)},
	}, nil
}

func (h *handlers) Reserve(ctx context.Context, req generated.ReserveRequestObject) (generated.ReserveResponseObject, error) {
	user, ans, token, err := h.as(ctx).reserve(ctx, req.Body.UserId, key(req.Params.IdempotencyKey))
	if err != nil {
		return nil, answered(err, ans)
	}
	out := reserveAnswer{replayed: ans.Replayed, body: answerBuffers.Get().(*[]byte)}
	body := (*out.body)[:0]
	if r := ans.Reserve.Reservation; r != nil {
		hold := holdJSON(*r)
		hold.ShopperToken = token
		out.status, out.location = http.StatusCreated, "/reservations/"+r.ID
		body, err = appendHold(body, hold)
	} else {
		out.status, out.location = http.StatusAccepted, "/users/"+url.PathEscape(user)
		body, err = appendAccepted(body, user, ans.Reserve, token)
	}
	*out.body = body
	if err != nil {
		return nil, fmt.Errorf("encode the answer to %s's reserve: %w", user, err)
	}
	return out, nil
}

func (h *handlers) GetDrawEntrants(ctx context.Context, _ generated.GetDrawEntrantsRequestObject) (generated.GetDrawEntrantsResponseObject, error) {
	ids, err := h.as(ctx).entrants(ctx)
	if err != nil {
		return nil, err
	}
	return entrantList(ids), nil
}

func (h *handlers) GetStatus(ctx context.Context, _ generated.GetStatusRequestObject) (generated.GetStatusResponseObject, error) {
	st, err := h.store.Status(ctx)
	if err != nil {
		return nil, err
	}
	return generated.GetStatus200JSONResponse(statusJSON(st)), nil
}

func (h *handlers) GetReservation(ctx context.Context, req generated.GetReservationRequestObject) (generated.GetReservationResponseObject, error) {
	r, err := h.as(ctx).reservation(ctx, req.ReservationId)
	if err != nil {
		return nil, err
	}
	return generated.GetReservation200JSONResponse(reservationJSON(r)), nil
}

func (h *handlers) ConfirmReservation(ctx context.Context, req generated.ConfirmReservationRequestObject) (generated.ConfirmReservationResponseObject, error) {
	ans, err := h.as(ctx).change(ctx, sale.Call{Op: sale.OpConfirm, ReservationID: req.ReservationId}, key(req.Params.IdempotencyKey))
	if err != nil {
		return nil, answered(err, ans)
	}
	return generated.ConfirmReservation200JSONResponse{
		Body:    reservationJSON(ans.Reservation),
		Headers: generated.ConfirmReservation200ResponseHeaders{IdempotencyReplayed: replayedHeader(ans)},
	}, nil
}

func (h *handlers) CancelReservation(ctx context.Context, req generated.CancelReservationRequestObject) (generated.CancelReservationResponseObject, error) {
	ans, err := h.as(ctx).change(ctx, sale.Call{Op: sale.OpCancel, ReservationID: req.ReservationId}, key(req.Params.IdempotencyKey))
	if err != nil {
		return nil, answered(err, ans)
	}
	return generated.CancelReservation200JSONResponse{
		Body:    reservationJSON(ans.Reservation),
		Headers: generated.CancelReservation200ResponseHeaders{IdempotencyReplayed: replayedHeader(ans)},
	}, nil
}

func (h *handlers) GetUser(ctx context.Context, req generated.GetUserRequestObject) (generated.GetUserResponseObject, error) {
	u, err := h.as(ctx).user(ctx, req.UserId)
	if err != nil {
		return nil, err
	}
	var wait live.Estimate
	if u.State == sale.Waiting {
		wait = h.live.EstimatedWait(u.Position)
	}
	out, err := userJSON(u, wait)
	if err != nil {
		return nil, err
	}
	return generated.GetUser200JSONResponse(out), nil
}

func (h *handlers) LeaveWaitlist(ctx context.Context, req generated.LeaveWaitlistRequestObject) (generated.LeaveWaitlistResponseObject, error) {
	if err := h.as(ctx).leave(ctx, req.UserId); err != nil {
		return nil, err
	}
	return generated.LeaveWaitlist204Response{}, nil
}

// healthChecker is a store that can say whether its backend answers (a
// database server); a store without one is healthy while the process runs.
type healthChecker interface {
	// Health returns nil when the backend answers; otherwise an error, which
	// the 503 quotes.
	Health(ctx context.Context) error
}

// healthTimeout bounds the store's health check, so that /healthz answers
// 503 rather than hang when the database does not answer at all.
const healthTimeout = 3 * time.Second

func (h *handlers) GetHealth(ctx context.Context, _ generated.GetHealthRequestObject) (generated.GetHealthResponseObject, error) {
	if hc, ok := h.store.(healthChecker); ok {
		ctx, cancel := context.WithTimeout(ctx, healthTimeout)
		defer cancel()
		if err := hc.Health(ctx); err != nil {
			// The same problem and Retry-After as every other 503, with
			// the reason: this is the answer operators and load balancers
			// read.
			secs := retrySeconds(sale.RetryAfter)
			return generated.GetHealth503ApplicationProblemPlusJSONResponse{
				UnavailableApplicationProblemPlusJSONResponse: generated.UnavailableApplicationProblemPlusJSONResponse{
					Body:    problem(probUnavailable, fmt.Sprintf("the sale's store is down (%v); retry in %ds", err, secs)),
					Headers: generated.UnavailableResponseHeaders{RetryAfter: secs},
				},
			}, nil
		}
	}
	return generated.GetHealth200JSONResponse{Status: generated.HealthStatusOk}, nil
}
