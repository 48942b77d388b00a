package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
)

// problemKind is one row of the problem-type table in api/openapi.yaml: its
// type, title and status, written here once. Clients branch on Type, so each
// is one of the document's ProblemType constants, generated from its enum
// (TestProblemTypesAreTheDocumentsTable holds the two tables together).
type problemKind struct {
	Type   generated.ProblemType
	Title  string
	Status int
}

var (
	probInvalid          = problemKind{generated.ProblemTypeInvalidRequest, "Invalid request", http.StatusBadRequest}
	probUnauthorized     = problemKind{generated.ProblemTypeUnauthorized, "Unauthorized", http.StatusUnauthorized}
	probTokenRequired    = problemKind{generated.ProblemTypeTokenRequired, "Shopper token required", http.StatusUnauthorized}
	probForbidden        = problemKind{generated.ProblemTypeForbidden, "Forbidden", http.StatusForbidden}
	probNotFound         = problemKind{generated.ProblemTypeNotFound, "Not found", http.StatusNotFound}
	probResNotFound      = problemKind{generated.ProblemTypeReservationNotFound, "Reservation not found", http.StatusNotFound}
	probNotWaiting       = problemKind{generated.ProblemTypeNotWaiting, "Not in the waitlist", http.StatusNotFound}
	probMethod           = problemKind{generated.ProblemTypeMethodNotAllowed, "Method not allowed", http.StatusMethodNotAllowed}
	probNotInitialized   = problemKind{generated.ProblemTypeNotInitialized, "Sale not initialized", http.StatusConflict}
	probAlreadyReserved  = problemKind{generated.ProblemTypeAlreadyReserved, "User already has a unit", http.StatusConflict}
	probHoldExpired      = problemKind{generated.ProblemTypeHoldExpired, "Hold expired", http.StatusConflict}
	probHoldCancelled    = problemKind{generated.ProblemTypeHoldCancelled, "Hold cancelled", http.StatusConflict}
	probAlreadyConfirmed = problemKind{generated.ProblemTypeAlreadyConfirmed, "Reservation already confirmed", http.StatusConflict}
	probInventory        = problemKind{generated.ProblemTypeInventoryConflict, "Inventory below units already taken", http.StatusConflict}
	probSaleClosed       = problemKind{generated.ProblemTypeSaleClosed, "The sale has closed", http.StatusConflict}
	probSchedule         = problemKind{generated.ProblemTypeScheduleConflict, "The sale's schedule cannot change that way", http.StatusConflict}
	probKeyInUse         = problemKind{generated.ProblemTypeIdempotencyKeyInUse, "Idempotency key in use", http.StatusConflict}
	probKeyMismatch      = problemKind{generated.ProblemTypeIdempotencyKeyMismatch, "Idempotency key used for another request", http.StatusUnprocessableEntity}
	probTooLarge         = problemKind{generated.ProblemTypeBodyTooLarge, "Request body too large", http.StatusRequestEntityTooLarge}
	probMediaType        = problemKind{generated.ProblemTypeUnsupportedMediaType, "Unsupported media type", http.StatusUnsupportedMediaType}
	probRateLimited      = problemKind{generated.ProblemTypeRateLimited, "Too many requests", http.StatusTooManyRequests}
	probTooManyStreams   = problemKind{generated.ProblemTypeTooManyStreams, "Too many event streams", http.StatusTooManyRequests}
	probInternal         = problemKind{generated.ProblemTypeInternal, "Internal server error", http.StatusInternalServerError}
	probUnavailable      = problemKind{generated.ProblemTypeUnavailable, "Service unavailable", http.StatusServiceUnavailable}
	probStreamsFull      = problemKind{generated.ProblemTypeStreamsFull, "Too many event streams on this server", http.StatusServiceUnavailable}
)

// errInvalidArgument is a request the document admits whose values do not
// go together (a close before the opening): what the schema cannot say.
var errInvalidArgument = errors.New("invalid request")

// refusal is how one error is answered: its problem kind, the problem's
// detail in words from the error and the request, and the Retry-After
// seconds it tells the client to wait (0 for none).
type refusal struct {
	err    error
	kind   problemKind
	detail func(err error, r *http.Request) string
	retry  func(err error) int
	// challenge is the WWW-Authenticate of a 401 (RFC 9110 requires one).
	challenge func(err error) string
}

// refusals is every error a handler answers with a problem; writeError reads
// it, and nothing else maps errors. A detail is made from what the error
// carries and what the request names, never from the error's text when the
// error may be a kept answer: a replay must read the same, byte for byte,
// as the first answer.
var refusals = []refusal{
	{err: errUnauthenticated, kind: probUnauthorized, detail: func(err error, _ *http.Request) string {
		return err.Error()
	}, challenge: func(err error) string {
		var u *unauthenticated
		errors.As(err, &u)
		return challenge(u)
	}},
	{err: sale.ErrTokenRequired, kind: probTokenRequired, detail: func(_ error, r *http.Request) string {
		return "this user is known to this sale; send the shopper token their first reserve answered, as Authorization: Bearer <token> (a token is given once, so one lost, on another device say, cannot be had again)"
	}, challenge: func(error) string { return `Bearer realm="flashsale"` }},
	{err: errForbidden, kind: probForbidden, detail: func(err error, _ *http.Request) string {
		return err.Error()
	}},
	{err: errNoUser, kind: probInvalid, detail: func(err error, _ *http.Request) string {
		return err.Error()
	}},
	{err: errInvalidArgument, kind: probInvalid, detail: func(err error, _ *http.Request) string {
		return err.Error()
	}},
	{err: sale.ErrNotInitialized, kind: probNotInitialized, detail: func(error, *http.Request) string {
		return "no sale has been initialized; an operator must POST /initialize first"
	}},
	{err: sale.ErrAlreadyReserved, kind: probAlreadyReserved, detail: func(err error, _ *http.Request) string {
		r := conflictOf(err)
		return fmt.Sprintf("user %s already has reservation %s (%s)", r.UserID, r.ID, r.Status)
	}},
	{err: sale.ErrHoldExpired, kind: probHoldExpired, detail: func(err error, _ *http.Request) string {
		r := conflictOf(err)
		return fmt.Sprintf("reservation %s expired at %s", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}},
	{err: sale.ErrHoldCancelled, kind: probHoldCancelled, detail: func(err error, _ *http.Request) string {
		return fmt.Sprintf("reservation %s was cancelled", conflictOf(err).ID)
	}},
	{err: sale.ErrAlreadyConfirmed, kind: probAlreadyConfirmed, detail: func(err error, _ *http.Request) string {
		return fmt.Sprintf("reservation %s is confirmed and cannot be cancelled", conflictOf(err).ID)
	}},
	{err: sale.ErrReservationNotFound, kind: probResNotFound, detail: func(_ error, r *http.Request) string {
		return "no reservation " + pathParam(r, "reservation_id")
	}},
	{err: sale.ErrNotWaiting, kind: probNotWaiting, detail: func(_ error, r *http.Request) string {
		return fmt.Sprintf("user %s is not in the waitlist", pathParam(r, "user_id"))
	}},
	{err: sale.ErrInventoryConflict, kind: probInventory, detail: func(err error, _ *http.Request) string {
		var inv *sale.InventoryError
		if !errors.As(err, &inv) {
			return err.Error()
		}
		return inv.Error() + `; send "reset": true to start a new sale`
	}},
	{err: sale.ErrSaleClosed, kind: probSaleClosed, detail: func(error, *http.Request) string {
		return "the sale has closed (GET /status shows when); it hands out nothing more"
	}},
	{err: sale.ErrScheduleConflict, kind: probSchedule, detail: func(error, *http.Request) string {
		return "opens_at or closes_at would move a time of the sale that has passed, set one that is not ahead, or put the close before the opening; GET /status shows the sale's window"
	}},
	{err: sale.ErrKeyInFlight, kind: probKeyInUse, detail: func(_ error, r *http.Request) string {
		k := generated.IdempotencyKey(r.Header.Get("Idempotency-Key"))
		return fmt.Sprintf("a request with idempotency key %q is still running; retry in a moment to get its answer", key(&k))
	}, retry: func(error) int { return keyInUseRetryAfter }},
	// Not kept: a mismatch is the lack of an answer, so its text (which
	// says what the key was first used for) may be the error's.
	{err: sale.ErrKeyMismatch, kind: probKeyMismatch, detail: func(err error, _ *http.Request) string {
		return err.Error() + "; send a new key for a new request"
	}},
	{err: errRateLimited, kind: probRateLimited, detail: func(err error, _ *http.Request) string {
		var l *rateLimited
		errors.As(err, &l)
		if l.addr != "" {
			return fmt.Sprintf("too many new users from %s; retry in %ds", l.addr, retrySeconds(l.wait))
		}
		return fmt.Sprintf("too many reservation attempts for user %s; retry in %ds", l.user, retrySeconds(l.wait))
	}, retry: func(err error) int {
		var l *rateLimited
		errors.As(err, &l)
		return retrySeconds(l.wait)
	}},
	{err: live.ErrUserFull, kind: probTooManyStreams, detail: func(err error, _ *http.Request) string {
		return err.Error() + "; close one first"
	}, retry: func(error) int { return retrySeconds(streamRetry) }},
	{err: live.ErrFull, kind: probStreamsFull, detail: streamsFullDetail, retry: func(error) int { return streamsFullRetry }},
	{err: live.ErrClosed, kind: probStreamsFull, detail: streamsFullDetail, retry: func(error) int { return streamsFullRetry }},
	// An outage: nothing was done, unless the store lost its storage while
	// committing and could not find out whether the commit was made.
	{err: sale.ErrUnavailable, kind: probUnavailable, detail: func(err error, _ *http.Request) string {
		secs := retrySeconds(sale.RetryAfter)
		if errors.Is(err, sale.ErrOutcomeUnknown) {
			return fmt.Sprintf("the sale's store stopped answering while committing this change, which may have been made: read the state (GET /users/{user_id} or /reservations/{reservation_id}) before trying again; retry in %ds", secs)
		}
		return fmt.Sprintf("the sale's store cannot be reached right now; nothing was done; retry in %ds", secs)
	}, retry: func(error) int { return retrySeconds(sale.RetryAfter) }},
}

func streamsFullDetail(err error, _ *http.Request) string {
	return fmt.Sprintf("%v; retry in %ds", err, streamsFullRetry)
}

// refusalOf is the row that answers err, if any.
func refusalOf(err error) (refusal, bool) {
	for _, f := range refusals {
		if errors.Is(err, f.err) {
			return f, true
		}
	}
	return refusal{}, false
}

// writeError answers an error a handler returned: as its refusal says, or,
// for an error no row knows (a bug), 500 with the cause in the log only.
// A replayed answer says so in Idempotency-Replayed, as its success would.
func (h *handlers) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client left (only a stream keeps its context): nobody to answer
	}
	f, ok := refusalOf(err)
	if !ok {
		h.log.Error("handler failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, internalProblem())
		return
	}
	if f.kind == probUnavailable {
		h.log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := problem(f.kind, f.detail(err, r))
	var c *sale.ConflictError
	if errors.As(err, &c) {
		p = withReservation(p, c.Reservation)
	}
	if f.retry != nil {
		w.Header().Set("Retry-After", strconv.Itoa(f.retry(err)))
	}
	if f.challenge != nil {
		w.Header().Set("WWW-Authenticate", f.challenge(err))
	}
	if errors.As(err, new(replayedError)) {
		w.Header().Set("Idempotency-Replayed", "true")
	}
	writeProblem(w, p)
}

// conflictOf is the reservation behind a conflict.
func conflictOf(err error) sale.Reservation {
	var c *sale.ConflictError
	errors.As(err, &c)
	return c.Reservation
}

// pathParam is the request's path parameter name, unescaped as the handler
// got it.
func pathParam(r *http.Request, name string) string {
	params, _, _ := pathParams(r)
	return params[name]
}

// errRateLimited is what a rateLimited error is.
var errRateLimited = errors.New("rate limited")

// rateLimited is a reservation attempt refused by a rate limiter: of user,
// or of new users from the client address addr. It may be tried again after
// wait.
type rateLimited struct {
	user, addr string
	wait       time.Duration
}

func (e *rateLimited) Error() string {
	if e.addr != "" {
		return fmt.Sprintf("%s: too many new users; retry in %v", e.addr, e.wait)
	}
	return fmt.Sprintf("user %s: too many reservation attempts; retry in %v", e.user, e.wait)
}

func (e *rateLimited) Is(target error) bool { return target == errRateLimited }

// retrySeconds is d as a Retry-After: whole seconds, rounded up.
func retrySeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// problem builds an RFC 9457 body of the given kind.
func problem(k problemKind, detail string) generated.Problem {
	return generated.Problem{Type: k.Type, Title: k.Title, Status: k.Status, Detail: &detail}
}

// internalProblem is the answer to a server fault, whose details go to the
// log, not to the client.
func internalProblem() generated.Problem {
	return problem(probInternal, "the server failed to answer; the error has been logged")
}

// tooLargeProblem is the answer to a body over limit bytes.
func tooLargeProblem(limit int64) generated.Problem {
	return problem(probTooLarge, fmt.Sprintf("the request body must be at most %d bytes", limit))
}

// withReservation adds the reservation behind a conflict, so the client
// learns which one and in what state without another request.
func withReservation(p generated.Problem, r sale.Reservation) generated.Problem {
	id, st := r.ID, generated.ReservationStatus(r.Status)
	p.ReservationId, p.ReservationStatus = &id, &st
	return p
}

// writeProblem writes p.
func writeProblem(w http.ResponseWriter, p generated.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client may be gone; nothing to do then
}
