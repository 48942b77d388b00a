package httpapi

import (
	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// The Idempotency-Key header (api/openapi.yaml, "Retrying safely"). The
// store keeps each key's answer, the domain's result or the rules' error,
// and gives it back on a retry; the handlers render a replay as they
// rendered the first answer, from the answer alone, so that its bytes are
// the first answer's. Only the Idempotency-Replayed header tells them apart.

// keyInUseRetryAfter is the Retry-After of an idempotency-key-in-use answer:
// a request that is still running is one commit away from its answer.
const keyInUseRetryAfter = 1

// key is the store's idempotency key for a request's Idempotency-Key, ""
// when it has none. The validator has checked it against the document's
// pattern; an RFC 8941 string's quotes are not part of the key, so `"k"`
// and `k` are one key.
func key(header *generated.IdempotencyKey) string {
	if header == nil {
		return ""
	}
	k := *header
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}

// replayedHeader is the Idempotency-Replayed header of an answer: true on a
// replay, absent otherwise.
func replayedHeader(ans sale.Answer) *bool {
	if !ans.Replayed {
		return nil
	}
	replayed := true
	return &replayed
}

// answered is the error a change answered with, marked as a replay when it
// was one, for writeError to say so.
func answered(err error, ans sale.Answer) error {
	if ans.Replayed {
		return replayedError{err}
	}
	return err
}

// replayedError is an answer, an error, kept with its idempotency key and
// given again.
type replayedError struct{ error }

func (e replayedError) Unwrap() error { return e.error }
