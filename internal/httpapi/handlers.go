package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
)

// handlers implements the generated strict server: each method gets a
// decoded, validated request and returns one of the typed responses that
// api/openapi.yaml lists for it. Errors the store reports as part of the
// rules become those typed responses; anything else is returned as an error
// and answered 500 by the strict handler's ResponseErrorHandlerFunc.
//
// Malformed input never reaches here: the request validator answers it.
// Authentication of /initialize is the validator's too (see validate.go).
//
// Each POST passes its Idempotency-Key to the store as a *sale.Attempt
// (idempotency.go). What the store answers, first time or replay, is
// rendered the same way from the answer alone; a replay only adds
// Idempotency-Replayed: true.
type handlers struct {
	store   sale.Store
	live    *live.Hub
	limiter *limiter // nil when rate limiting is off
	now     func() time.Time
	log     *slog.Logger
	// eventsSent counts an event sent on a stream, by name.
	eventsSent func(event string)
}

var _ generated.StrictServerInterface = (*handlers)(nil)

func (h *handlers) Initialize(ctx context.Context, req generated.InitializeRequestObject) (generated.InitializeResponseObject, error) {
	reset := req.Body.Reset != nil && *req.Body.Reset
	a := attempt(req.Params.IdempotencyKey)
	st, err := h.store.Initialize(ctx, req.Body.TotalInventory, reset, a)
	replayed := replayedHeader(a)
	var inv *sale.InventoryError
	switch {
	case err == nil:
		return generated.Initialize200JSONResponse{
			Body:    statusJSON(st),
			Headers: generated.Initialize200ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	case errors.As(err, &inv):
		return generated.Initialize409ApplicationProblemPlusJSONResponse{
			Body:    problem(probInventory, inv.Error()+`; send "reset": true to start a new sale`),
			Headers: generated.Initialize409ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	case errors.Is(err, sale.ErrKeyInFlight):
		p, retry := keyInUse(a)
		return generated.Initialize409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.Initialize409ResponseHeaders{RetryAfter: retry},
		}, nil
	case errors.Is(err, sale.ErrKeyMismatch):
		return generated.Initialize422ApplicationProblemPlusJSONResponse{IdempotencyKeyMismatchApplicationProblemPlusJSONResponse: keyMismatch(err)}, nil
	}
	return nil, err
}

func (h *handlers) Reserve(ctx context.Context, req generated.ReserveRequestObject) (generated.ReserveResponseObject, error) {
	user := req.Body.UserId
	if h.limiter != nil {
		if ok, wait := h.limiter.allow(user, h.now()); !ok {
			secs := int((wait + time.Second - 1) / time.Second)
			return generated.Reserve429ApplicationProblemPlusJSONResponse{
				Body:    problem(probRateLimited, fmt.Sprintf("too many reservation attempts for user %s; retry in %ds", user, secs)),
				Headers: generated.Reserve429ResponseHeaders{RetryAfter: secs},
			}, nil
		}
	}
	// The key's scope is the user, so another body is another scope: a
	// reserve cannot mismatch, and sale.ErrKeyMismatch is not expected.
	a := attempt(req.Params.IdempotencyKey)
	res, err := h.store.Reserve(ctx, user, a)
	replayed := replayedHeader(a)
	var conflict *sale.ConflictError
	switch {
	case err == nil && res.Reservation != nil:
		loc := "/reservations/" + res.Reservation.ID
		return generated.Reserve201JSONResponse{
			Body:    holdJSON(*res.Reservation),
			Headers: generated.Reserve201ResponseHeaders{Location: loc, IdempotencyReplayed: replayed},
		}, nil
	case err == nil:
		msg := "Added to waitlist"
		if res.AlreadyWaiting {
			msg = "Already in waitlist"
		}
		loc := "/users/" + url.PathEscape(user)
		return generated.Reserve202JSONResponse{
			Body:    generated.Waitlisted{Status: generated.WaitlistedStatusWaiting, Message: msg, WaitlistPosition: res.Position, UserId: user},
			Headers: generated.Reserve202ResponseHeaders{Location: loc, IdempotencyReplayed: replayed},
		}, nil
	case errors.Is(err, sale.ErrNotInitialized):
		return generated.Reserve409ApplicationProblemPlusJSONResponse{
			Body:    problem(probNotInitialized, "no sale has been initialized; an operator must POST /initialize first"),
			Headers: generated.Reserve409ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	case errors.As(err, &conflict) && errors.Is(err, sale.ErrAlreadyReserved):
		r := conflict.Reservation
		return generated.Reserve409ApplicationProblemPlusJSONResponse{
			Body: withReservation(problem(probAlreadyReserved,
				fmt.Sprintf("user %s already has reservation %s (%s)", user, r.ID, r.Status)), r),
			Headers: generated.Reserve409ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	case errors.Is(err, sale.ErrKeyInFlight):
		p, retry := keyInUse(a)
		return generated.Reserve409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.Reserve409ResponseHeaders{RetryAfter: retry},
		}, nil
	}
	return nil, err
}

func (h *handlers) GetStatus(ctx context.Context, _ generated.GetStatusRequestObject) (generated.GetStatusResponseObject, error) {
	st, err := h.store.Status(ctx)
	if err != nil {
		return nil, err
	}
	return generated.GetStatus200JSONResponse(statusJSON(st)), nil
}

func (h *handlers) GetReservation(ctx context.Context, req generated.GetReservationRequestObject) (generated.GetReservationResponseObject, error) {
	r, err := h.store.Reservation(ctx, req.ReservationId)
	switch {
	case err == nil:
		return generated.GetReservation200JSONResponse(reservationJSON(r)), nil
	case errors.Is(err, sale.ErrReservationNotFound):
		return generated.GetReservation404ApplicationProblemPlusJSONResponse{
			ReservationNotFoundApplicationProblemPlusJSONResponse: notFound(req.ReservationId),
		}, nil
	}
	return nil, err
}

func (h *handlers) ConfirmReservation(ctx context.Context, req generated.ConfirmReservationRequestObject) (generated.ConfirmReservationResponseObject, error) {
	a := attempt(req.Params.IdempotencyKey)
	r, err := h.store.Confirm(ctx, req.ReservationId, a)
	replayed := replayedHeader(a)
	if err == nil {
		return generated.ConfirmReservation200JSONResponse{
			Body:    reservationJSON(r),
			Headers: generated.ConfirmReservation200ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	}
	if errors.Is(err, sale.ErrReservationNotFound) {
		return generated.ConfirmReservation404ApplicationProblemPlusJSONResponse{
			ReservationNotFoundKeptApplicationProblemPlusJSONResponse: notFoundKept(req.ReservationId, replayed),
		}, nil
	}
	if p, ok := resolveConflict(err); ok {
		return generated.ConfirmReservation409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.ConfirmReservation409ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	}
	switch {
	case errors.Is(err, sale.ErrKeyInFlight):
		p, retry := keyInUse(a)
		return generated.ConfirmReservation409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.ConfirmReservation409ResponseHeaders{RetryAfter: retry},
		}, nil
	case errors.Is(err, sale.ErrKeyMismatch):
		return generated.ConfirmReservation422ApplicationProblemPlusJSONResponse{IdempotencyKeyMismatchApplicationProblemPlusJSONResponse: keyMismatch(err)}, nil
	}
	return nil, err
}

func (h *handlers) CancelReservation(ctx context.Context, req generated.CancelReservationRequestObject) (generated.CancelReservationResponseObject, error) {
	a := attempt(req.Params.IdempotencyKey)
	r, err := h.store.Cancel(ctx, req.ReservationId, a)
	replayed := replayedHeader(a)
	if err == nil {
		return generated.CancelReservation200JSONResponse{
			Body:    reservationJSON(r),
			Headers: generated.CancelReservation200ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	}
	if errors.Is(err, sale.ErrReservationNotFound) {
		return generated.CancelReservation404ApplicationProblemPlusJSONResponse{
			ReservationNotFoundKeptApplicationProblemPlusJSONResponse: notFoundKept(req.ReservationId, replayed),
		}, nil
	}
	if p, ok := resolveConflict(err); ok {
		return generated.CancelReservation409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.CancelReservation409ResponseHeaders{IdempotencyReplayed: replayed},
		}, nil
	}
	switch {
	case errors.Is(err, sale.ErrKeyInFlight):
		p, retry := keyInUse(a)
		return generated.CancelReservation409ApplicationProblemPlusJSONResponse{
			Body: p, Headers: generated.CancelReservation409ResponseHeaders{RetryAfter: retry},
		}, nil
	case errors.Is(err, sale.ErrKeyMismatch):
		return generated.CancelReservation422ApplicationProblemPlusJSONResponse{IdempotencyKeyMismatchApplicationProblemPlusJSONResponse: keyMismatch(err)}, nil
	}
	return nil, err
}

func (h *handlers) GetUser(ctx context.Context, req generated.GetUserRequestObject) (generated.GetUserResponseObject, error) {
	u, err := h.store.User(ctx, req.UserId)
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
	err := h.store.Leave(ctx, req.UserId)
	switch {
	case err == nil:
		return generated.LeaveWaitlist204Response{}, nil
	case errors.Is(err, sale.ErrNotWaiting):
		return generated.LeaveWaitlist404ApplicationProblemPlusJSONResponse(problem(probNotWaiting,
			fmt.Sprintf("user %s is not in the waitlist", req.UserId))), nil
	}
	return nil, err
}

// healthChecker is a store that can say whether its backend answers (a
// database server); a store without one is healthy while the process runs.
type healthChecker interface {
	// Health returns nil when the backend answers; otherwise an error, which
	// wraps sale.ErrUnavailable, saying what is wrong.
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
			// The same problem and Retry-After as every other 503
			// (writeUnavailable), with the reason: this is the answer
			// operators and load balancers read.
			secs := int((sale.RetryAfter + time.Second - 1) / time.Second)
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

func notFound(id string) generated.ReservationNotFoundApplicationProblemPlusJSONResponse {
	return generated.ReservationNotFoundApplicationProblemPlusJSONResponse(problem(probResNotFound, "no reservation "+id))
}

// notFoundKept is notFound as a change answers it: an answer the sale
// decided, kept with the request's idempotency key and replayed.
func notFoundKept(id string, replayed *bool) generated.ReservationNotFoundKeptApplicationProblemPlusJSONResponse {
	return generated.ReservationNotFoundKeptApplicationProblemPlusJSONResponse{
		Body:    generated.Problem(notFound(id)),
		Headers: generated.ReservationNotFoundKeptResponseHeaders{IdempotencyReplayed: replayed},
	}
}

// resolveConflict maps a second resolution of a hold to its distinct problem
// type, as TigerBeetle distinguishes already-posted, -voided and -expired.
func resolveConflict(err error) (generated.Problem, bool) {
	var c *sale.ConflictError
	if !errors.As(err, &c) {
		return generated.Problem{}, false
	}
	r := c.Reservation
	var p generated.Problem
	switch {
	case errors.Is(err, sale.ErrHoldExpired):
		p = problem(probHoldExpired, fmt.Sprintf("reservation %s expired at %s", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339Nano)))
	case errors.Is(err, sale.ErrHoldCancelled):
		p = problem(probHoldCancelled, fmt.Sprintf("reservation %s was cancelled", r.ID))
	case errors.Is(err, sale.ErrAlreadyConfirmed):
		p = problem(probAlreadyConfirmed, fmt.Sprintf("reservation %s is confirmed and cannot be cancelled", r.ID))
	default:
		return generated.Problem{}, false
	}
	return withReservation(p, r), true
}
