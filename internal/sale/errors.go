package sale

import (
	"errors"
	"fmt"
	"time"
)

// The errors a Store returns. Each maps to one problem type in the HTTP API;
// callers test for them with errors.Is (and errors.As for *ConflictError).
var (
	// ErrNotInitialized: no sale has been initialized yet.
	ErrNotInitialized = errors.New("sale not initialized")
	// ErrReservationNotFound: no reservation has that id in this sale.
	ErrReservationNotFound = errors.New("reservation not found")
	// ErrNotWaiting: the user is not in the waitlist.
	ErrNotWaiting = errors.New("user not in waitlist")
	// ErrAlreadyReserved: the user holds or bought a unit already.
	ErrAlreadyReserved = errors.New("user already has a unit")
	// ErrHoldExpired: the hold expired before the request.
	ErrHoldExpired = errors.New("hold expired")
	// ErrHoldCancelled: the hold was cancelled before the request.
	ErrHoldCancelled = errors.New("hold cancelled")
	// ErrAlreadyConfirmed: the hold was confirmed; it cannot be cancelled.
	ErrAlreadyConfirmed = errors.New("reservation already confirmed")
	// ErrInventoryConflict: the new total is below held + confirmed.
	ErrInventoryConflict = errors.New("inventory below units already taken")
	// ErrInvalid: an argument is out of range (the HTTP layer validates first,
	// so this reaches a client only through a bug or a direct caller).
	ErrInvalid = errors.New("invalid argument")
)

// ConflictError carries the reservation behind a conflict, so that a client
// told "already reserved" or "hold expired" learns which reservation and its
// state. It wraps one of the sentinel errors above.
type ConflictError struct {
	Err         error
	Reservation Reservation
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: reservation %s is %s", e.Err, e.Reservation.ID, e.Reservation.Status)
}

func (e *ConflictError) Unwrap() error { return e.Err }

// InventoryError says by how much an Initialize without reset fell short.
type InventoryError struct {
	Total, Taken int64 // Taken = held + confirmed
}

func (e *InventoryError) Error() string {
	return fmt.Sprintf("total_inventory %d is below held + confirmed = %d", e.Total, e.Taken)
}

func (e *InventoryError) Unwrap() error { return ErrInventoryConflict }

// MaxInventory bounds Initialize's total, as the API document does.
const MaxInventory = 1_000_000_000

// ErrUnavailable: the store cannot take or make durable a change right now
// (its disk is full, its database is down, it is closed). Nothing the call
// asked for happened, unless the error also wraps ErrOutcomeUnknown; the
// same call may succeed after RetryAfter.
var ErrUnavailable = errors.New("store unavailable")

// ErrOutcomeUnknown comes wrapped with ErrUnavailable when the store lost
// its storage in the middle of committing the call's change and could not
// find out afterwards whether the commit was made: the change may have
// happened. The caller should read the state before it tries again.
var ErrOutcomeUnknown = errors.New("the change may have been made: the storage stopped answering while committing it")

// RetryAfter is how long a store that failed to write waits before it tries
// its storage again, answering ErrUnavailable at once meanwhile, so that an
// outage is not made worse by every caller retrying it. Clients are told to
// wait as long.
const RetryAfter = time.Second

// ErrEventsGone: the events after the asked-for sequence are no longer kept
// (a memory store keeps only the newest). The consumer must re-read the state
// it follows and go on from the feed's newest event.
var ErrEventsGone = errors.New("events no longer kept")
