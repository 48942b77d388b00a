package sale

import (
	"context"
	"fmt"
	"time"
)

// Op names a change: what Store.Do makes, and what an idempotency key can be
// given to.
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
	Op Op
	// UserID is whom a reserve is for. For confirm and cancel it is, when
	// set, the user the call is made for: another user's reservation is
	// then not found, as one that does not exist (an operator's call sets
	// none and reaches every reservation).
	UserID        string
	ReservationID string // confirm, cancel
	Total         int64  // initialize
	Reset         bool   // initialize
	// Window is an initialize's opening and close (UTC, kept to
	// Precision): zero times are none for a new sale, and leave the
	// sale's as they are without Reset.
	Window Window
	// Claim marks a reserve made with no proof of who is asking: it is
	// made only for a user new to the sale, so that whoever comes first
	// with a name owns it, and is refused with ErrTokenRequired for a user
	// the sale knows (who must prove it is them).
	Claim bool
}

func (c Call) String() string {
	switch c.Op {
	case OpInitialize:
		w := ""
		if !c.Window.OpensAt.IsZero() {
			w += ", opens " + Stamp(c.Window.OpensAt)
		}
		if !c.Window.ClosesAt.IsZero() {
			w += ", closes " + Stamp(c.Window.ClosesAt)
		}
		return fmt.Sprintf("initialize %d (reset %t%s)", c.Total, c.Reset, w)
	case OpReserve:
		if c.Claim {
			return "reserve " + c.UserID + " (a new user)"
		}
		return "reserve " + c.UserID
	default:
		if c.UserID != "" {
			return string(c.Op) + " " + c.ReservationID + " for " + c.UserID
		}
		return string(c.Op) + " " + c.ReservationID
	}
}

// Answer is what a change answered: Err, or the result its Op gives.
type Answer struct {
	// Err is the change's error, nil when it succeeded: one of this
	// package's errors (an *Error, *ConflictError or *InventoryError) that
	// the sale decided, never one the store could not decide (unavailable,
	// a key in flight), which is not an answer but the lack of one.
	Err         error
	Status      Status        // initialize
	Reserve     ReserveResult // reserve
	Reservation Reservation   // confirm, cancel
	// At is when the change was decided: the same instant for a replay as
	// for the first answer.
	At time.Time
	// Replayed says the answer is the one kept with the call's idempotency
	// key, given again: this call changed nothing.
	Replayed bool
}

// Initialize, Reserve, Confirm and Cancel make one change through s.Do
// without an idempotency key, for callers that never retry one (a test, the
// server's own start-up), and return its result or its error alone.

// Initialize sets the total inventory; see Store.Do.
func Initialize(ctx context.Context, s Store, total int64, reset bool) (Status, error) {
	a, err := s.Do(ctx, Call{Op: OpInitialize, Total: total, Reset: reset}, "")
	return a.Status, err
}

// Reserve gives userID a hold or a place in line; see Store.Do.
func Reserve(ctx context.Context, s Store, userID string) (ReserveResult, error) {
	a, err := s.Do(ctx, Call{Op: OpReserve, UserID: userID}, "")
	return a.Reserve, err
}

// Confirm turns a hold into a purchase; see Store.Do.
func Confirm(ctx context.Context, s Store, id string) (Reservation, error) {
	a, err := s.Do(ctx, Call{Op: OpConfirm, ReservationID: id}, "")
	return a.Reservation, err
}

// Cancel releases a hold; see Store.Do.
func Cancel(ctx context.Context, s Store, id string) (Reservation, error) {
	a, err := s.Do(ctx, Call{Op: OpCancel, ReservationID: id}, "")
	return a.Reservation, err
}
