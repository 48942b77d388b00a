package sale

import "time"

// An idempotency key (the Idempotency-Key header) names one attempt at a
// change, so that the store makes the change once and answers every retry of
// it with the first answer, even when the retry reaches another server or
// comes after a restart. Store.Do takes it; an empty key makes the change
// without remembering anything.

// Limits of keys, written once here.
const (
	// DefaultKeyTTL is how long a key's answer is kept when Config says
	// nothing: a day, as Stripe and the IETF draft suggest, far longer
	// than any client keeps retrying.
	DefaultKeyTTL = 24 * time.Hour
	// DefaultMaxKeys bounds the keys a sale keeps at once when Config says
	// nothing. Beyond it the oldest key is forgotten (a retry of it then
	// runs again); docs/design.md says why that is safe for every change.
	DefaultMaxKeys = 1_000_000
	// MaxKeyLength bounds a key, as the API document does.
	MaxKeyLength = 64
)

// KeyID is a key within its scope: the caller it belongs to, so that two
// callers choosing the same key never share an answer.
type KeyID struct {
	// Scope is "user:ID" for reserve; "reservation:ID" for confirm and
	// cancel, "user:ID reservation:ID" when made for a user; "admin" for
	// initialize.
	Scope string
	Key   string
}

// KeyRecord is a key's first call and its answer, kept for the key's TTL.
type KeyRecord struct {
	ID     KeyID
	At     time.Time // when the call was made; forgotten at At + the key TTL
	Call   Call
	Answer Answer
}
