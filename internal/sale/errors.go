package sale

import (
	"errors"
	"fmt"
	"time"
)

// Kind names one kind of failure. It is written once, here, with the error
// that carries it; everything else reads it from the error:
//
//   - an idempotency key keeps an answer's error as its Kind on disk, so a
//     Kind is never changed, only added;
//   - the HTTP layer's one table maps each Kind to its status and title, and
//     an error a client is told of has the problem type /problems/<Kind>, so
//     a client (or a test) reads the Kind back from the type;
//   - the model names the failures of a history by Kind.
type Kind string

// Error is a failure of the sale, of one Kind. The values below are the only
// ones; callers test for them with errors.Is, and KindOf reads the kind of an
// error that wraps one.
type Error struct {
	kind Kind
	text string
}

func (e *Error) Error() string { return e.text }

// Kind is the kind of failure e is.
func (e *Error) Kind() Kind { return e.kind }

// The answers a change may give instead of its result. Each is kept with an
// idempotency key and answered again to its retries.
var (
	// ErrNotInitialized: no sale has been initialized yet.
	ErrNotInitialized = &Error{"not-initialized", "sale not initialized"}
	// ErrReservationNotFound: no reservation has that id in this sale.
	ErrReservationNotFound = &Error{"reservation-not-found", "reservation not found"}
	// ErrNotWaiting: the user is not in the waitlist.
	ErrNotWaiting = &Error{"not-waiting", "user not in waitlist"}
	// ErrAlreadyReserved: the user holds or bought a unit already.
	ErrAlreadyReserved = &Error{"already-reserved", "user already has a unit"}
	// ErrHoldExpired: the hold expired before the request.
	ErrHoldExpired = &Error{"hold-expired", "hold expired"}
	// ErrHoldCancelled: the hold was cancelled before the request.
	ErrHoldCancelled = &Error{"hold-cancelled", "hold cancelled"}
	// ErrAlreadyConfirmed: the hold was confirmed; it cannot be cancelled.
	ErrAlreadyConfirmed = &Error{"already-confirmed", "reservation already confirmed"}
	// ErrInventoryConflict: the new total is below held + confirmed.
	ErrInventoryConflict = &Error{"inventory-conflict", "inventory below units already taken"}
	// ErrTokenRequired: a reserve that proves no identity (Call.Claim)
	// named a user the sale knows already, whose token it must show.
	ErrTokenRequired = &Error{"token-required", "the user is known to this sale: their token is required"}
	// ErrSaleClosed: the sale's window closed; it gives no more holds.
	ErrSaleClosed = &Error{"sale-closed", "the sale has closed"}
	// ErrScheduleConflict: an initialize moved a time of the sale's window
	// that has already passed, or set one in the past.
	ErrScheduleConflict = &Error{"schedule-conflict", "the sale's schedule cannot change that way"}
	// ErrInvalid: an argument is out of range (the HTTP layer validates first,
	// so this reaches a client only through a bug or a direct caller).
	ErrInvalid = &Error{"invalid", "invalid argument"}
)

// The failures of a call the sale did not decide: nothing was done (but see
// ErrOutcomeUnknown), nothing is kept, and the same call may succeed later.
var (
	// ErrKeyInFlight: the key's first attempt is still running. The caller
	// should retry the same attempt a moment later; it will get the answer.
	ErrKeyInFlight = &Error{"idempotency-key-in-use", "idempotency key in use by a request still running"}
	// ErrKeyMismatch: the key was used for another change (another path or
	// another body). Its answer is not this call's; nothing was done.
	ErrKeyMismatch = &Error{"idempotency-key-mismatch", "idempotency key used for another request"}
	// ErrUnavailable: the store cannot take or make durable a change right
	// now (its disk is full, its database is down, it is closed). Nothing
	// the call asked for happened, unless the error also wraps
	// ErrOutcomeUnknown; the same call may succeed after RetryAfter.
	ErrUnavailable = &Error{"unavailable", "store unavailable"}
	// ErrOutcomeUnknown comes wrapped with ErrUnavailable when the store
	// lost its storage in the middle of committing the call's change and
	// could not find out afterwards whether the commit was made: the change
	// may have happened. The caller should read the state before it tries
	// again.
	ErrOutcomeUnknown = &Error{"outcome-unknown", "the change may have been made: the storage stopped answering while committing it"}
	// ErrEventsGone: the events after the asked-for sequence are no longer
	// kept (a memory store keeps only the newest). The consumer must re-read
	// the state it follows and go on from the feed's newest event.
	ErrEventsGone = &Error{"events-gone", "events no longer kept"}
)

// errorList is every Error, the list that ErrorOf looks kinds up in.
var errorList = []*Error{
	ErrNotInitialized, ErrReservationNotFound, ErrNotWaiting, ErrAlreadyReserved,
	ErrHoldExpired, ErrHoldCancelled, ErrAlreadyConfirmed, ErrInventoryConflict, ErrTokenRequired, ErrSaleClosed, ErrScheduleConflict, ErrInvalid,
	ErrKeyInFlight, ErrKeyMismatch, ErrUnavailable, ErrOutcomeUnknown, ErrEventsGone,
}

// Errors returns every error of the sale, for tables that must cover them all.
func Errors() []*Error { return append([]*Error(nil), errorList...) }

// KindOf is the kind of the first of the sale's errors that err wraps, or ""
// when it wraps none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.kind
	}
	return ""
}

// ErrorOf is the error of kind k, or nil when no error has it.
func ErrorOf(k Kind) *Error {
	for _, e := range errorList {
		if e.kind == k {
			return e
		}
	}
	return nil
}

// ConflictError carries the reservation behind a conflict, so that a client
// told "already reserved" or "hold expired" learns which reservation and its
// state. It wraps one of the errors above.
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

// RetryAfter is how long a store that failed to write waits before it tries
// its storage again, answering ErrUnavailable at once meanwhile, so that an
// outage is not made worse by every caller retrying it. Clients are told to
// wait as long.
const RetryAfter = time.Second
