package sale

import (
	"errors"
	"fmt"
	"time"
)

// Attempt names one attempt at a change with the client's idempotency key
// (the Idempotency-Key header), so that the store makes the change once and
// answers every retry of it with the first answer, even when the retry
// reaches another server or comes after a restart. A nil *Attempt, or an
// empty Key, makes the change without remembering anything.
//
// The store sets Replayed when it answered with a kept answer instead of
// making the change.
type Attempt struct {
	Key      string
	Replayed bool
}

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

// ErrKeyInFlight: the key's first attempt is still running. The caller
// should retry the same attempt a moment later; it will get the answer.
var ErrKeyInFlight = errors.New("idempotency key in use by a request still running")

// ErrKeyMismatch: the key was used for another change (another path or
// another body). Its answer is not this call's; nothing was done.
var ErrKeyMismatch = errors.New("idempotency key used for another request")

// Op names a change a key can be given to.
type Op string

const (
	OpInitialize Op = "initialize"
	OpReserve    Op = "reserve"
	OpConfirm    Op = "confirm"
	OpCancel     Op = "cancel"
)

// Call is one change and its arguments: what a retry must ask again,
// exactly, to be answered with the first answer.
type Call struct {
	Op            Op
	UserID        string // reserve
	ReservationID string // confirm, cancel
	Total         int64  // initialize
	Reset         bool   // initialize
}

func (c Call) String() string {
	switch c.Op {
	case OpInitialize:
		return fmt.Sprintf("initialize %d (reset %t)", c.Total, c.Reset)
	case OpReserve:
		return "reserve " + c.UserID
	default:
		return string(c.Op) + " " + c.ReservationID
	}
}

// Answer is what a change answered: Err, or the result its Op gives.
type Answer struct {
	// Err is the change's error, nil when it succeeded: one of this
	// package's errors (a sentinel, *ConflictError or *InventoryError),
	// never ErrUnavailable, which is not an answer but the lack of one.
	Err         error
	Status      Status        // initialize
	Reserve     ReserveResult // reserve
	Reservation Reservation   // confirm, cancel
}

// KeyID is a key within its scope: the caller it belongs to, so that two
// callers choosing the same key never share an answer.
type KeyID struct {
	Scope string // "user:ID" for reserve, "reservation:ID" for confirm and cancel, "admin" for initialize
	Key   string
}

// KeyRecord is a key's first call and its answer, kept for the key's TTL.
type KeyRecord struct {
	ID     KeyID
	At     time.Time // when the call was made; forgotten at At + the key TTL
	Call   Call
	Answer Answer
}
