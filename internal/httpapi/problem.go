package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// problemKind is one row of the problem-type table in api/openapi.yaml.
// Clients branch on Type, so each is one of the document's ProblemType
// constants, generated from its enum.
type problemKind struct {
	Type   generated.ProblemType
	Title  string
	Status int
}

var (
	probInvalid          = problemKind{generated.ProblemTypeInvalidRequest, "Invalid request", http.StatusBadRequest}
	probUnauthorized     = problemKind{generated.ProblemTypeUnauthorized, "Unauthorized", http.StatusUnauthorized}
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

// writeUnavailable answers a request the store could not serve now (its disk
// is full, its database down): 503 with Retry-After. Nothing was done,
// unless the store lost its storage while committing and could not find
// out whether the commit was made: then the detail says so.
func writeUnavailable(w http.ResponseWriter, err error) {
	secs := int((sale.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	detail := fmt.Sprintf("the sale's store cannot be reached right now; nothing was done; retry in %ds", secs)
	if errors.Is(err, sale.ErrOutcomeUnknown) {
		detail = fmt.Sprintf("the sale's store stopped answering while committing this change, which may have been made: read the state (GET /users/{user_id} or /reservations/{reservation_id}) before trying again; retry in %ds", secs)
	}
	writeProblem(w, problem(probUnavailable, detail))
}

// writeProblem writes p outside the strict handlers: validation failures,
// unknown routes, panics.
func writeProblem(w http.ResponseWriter, p generated.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client may be gone; nothing to do then
}
