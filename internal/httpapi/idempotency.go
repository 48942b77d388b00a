package httpapi

import (
	"fmt"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// The Idempotency-Key header (api/openapi.yaml, "Retrying safely"). The
// store keeps each key's answer, the domain's result or the rules' error,
// and gives it back on a retry; the handlers render a replay as they
// rendered the first answer, from the answer alone, so that its bytes are
// the first answer's. Only the Idempotency-Replayed header tells them apart.

// keyInUseRetryAfter is the Retry-After, in seconds, of an
// idempotency-key-in-use answer: a request that is still running is one
// commit away from its answer.
const keyInUseRetryAfter = 1

// attempt is the store's Attempt for a request's Idempotency-Key, nil when
// it has none. The validator has checked the key against the document's
// pattern; an RFC 8941 string's quotes are not part of the key, so `"k"`
// and `k` are one key.
func attempt(header *generated.IdempotencyKey) *sale.Attempt {
	if header == nil {
		return nil
	}
	k := *header
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return &sale.Attempt{Key: k}
}

// replayedHeader is the Idempotency-Replayed header of an answer: true on a
// replay, absent otherwise.
func replayedHeader(a *sale.Attempt) *bool {
	if a == nil || !a.Replayed {
		return nil
	}
	replayed := true
	return &replayed
}

// keyInUse is the answer to a retry that came while the key's first request
// was still running (sale.ErrKeyInFlight): 409 with Retry-After. It is not
// kept; the retry after it gets the first request's answer.
func keyInUse(a *sale.Attempt) (generated.Problem, *int) {
	secs := keyInUseRetryAfter
	return problem(probKeyInUse, fmt.Sprintf("a request with idempotency key %q is still running; retry in a moment to get its answer", a.Key)), &secs
}

// keyMismatch is the answer to a key sent with another request than its
// first (sale.ErrKeyMismatch): 422, nothing done. The store's error says
// what the key was first used for.
func keyMismatch(err error) generated.IdempotencyKeyMismatchApplicationProblemPlusJSONResponse {
	return generated.IdempotencyKeyMismatchApplicationProblemPlusJSONResponse(problem(probKeyMismatch,
		err.Error()+"; send a new key for a new request"))
}
