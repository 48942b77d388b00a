// Package sale holds the domain of a flash sale: its types, its errors, the
// Store interface that internal/store implements over every backend, and the
// feed of events. It imports nothing but the standard library, so that the
// domain can be read without the plumbing.
//
// The rules, which internal/rules writes once and the conformance suite
// checks every store against:
//
//   - A hold lasts Config.HoldTTL. From ExpiresAt on it is expired: it can no
//     longer be confirmed and its unit is released.
//   - A released unit goes to the first user in the waitlist, who gets a fresh
//     hold, or back to stock when nobody waits.
//   - The waitlist is strict FIFO; positions are 1-based and current.
//   - A sale with a window (window.go) takes no hold before it opens: users
//     wait in a pre-queue with no place, and one draw orders them at the
//     opening. After it closes, no hold is given and nobody waits.
//   - A user has at most one of: an active hold, a purchase, a waitlist entry.
//   - At every observable moment: Available+Held+Confirmed == Total, and
//     Available > 0 implies Waiting == 0.
package sale

import "time"

// HoldStatus is the life cycle of a reservation. A hold is resolved exactly
// once: confirmed, cancelled or expired.
type HoldStatus string

const (
	Held      HoldStatus = "held"
	Confirmed HoldStatus = "confirmed"
	Expired   HoldStatus = "expired"
	Cancelled HoldStatus = "cancelled"
)

// Reservation is one hold on one unit and what became of it.
type Reservation struct {
	ID        string
	UserID    string
	Status    HoldStatus
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Status is a consistent snapshot of the sale: all numbers read at one instant.
type Status struct {
	Initialized bool
	Total       int64
	Available   int64
	Held        int64
	Confirmed   int64
	Waiting     int64

	// The window, once initialized: Phase, the times (zero when none),
	// and the pre-queue's size while scheduled.
	Phase     Phase
	OpensAt   time.Time
	ClosesAt  time.Time
	Prequeued int64
	// DrawCommitment is the hex SHA-256 of the draw's seed, from the
	// moment the sale is scheduled; DrawSeed is the seed in hex, revealed
	// once the draw is made. Both are empty for a sale with no draw.
	DrawCommitment string
	DrawSeed       string
}

// Balanced reports whether the snapshot satisfies the sale's invariants.
func (s Status) Balanced() bool {
	return s.Available >= 0 && s.Held >= 0 && s.Confirmed >= 0 && s.Waiting >= 0 &&
		s.Available+s.Held+s.Confirmed == s.Total &&
		(s.Available == 0 || s.Waiting == 0)
}

// UserStateKind says where a user stands.
type UserStateKind string

const (
	None    UserStateKind = "none"
	Waiting UserStateKind = "waiting"
	Holding UserStateKind = "held"
	Bought  UserStateKind = "confirmed"
	// Queued: in a scheduled sale's pre-queue, with no place until the
	// draw at the opening.
	Queued UserStateKind = "queued"
)

// UserState is where one user stands. Position is set (1-based) when State is
// Waiting. Reservation is the user's current hold or purchase, or, when State
// is None, the last hold they had in this sale (nil if none).
type UserState struct {
	UserID      string
	State       UserStateKind
	Position    int64
	Reservation *Reservation
	// Seq is the newest event the state includes: a consumer of the feed
	// that starts after it misses no change to it.
	Seq uint64
	// Sale is the Seq of the reset that began the sale the state is in (0
	// before any reset): two states with different Sales are of different
	// sales, whatever else they share.
	Sale uint64
	// Phase is the sale's phase as of the state.
	Phase Phase
	// OpensAt and DrawCommitment are the draw a Queued user waits for.
	OpensAt        time.Time
	DrawCommitment string
}

// ReserveResult is the answer to Reserve: either a new hold (Reservation set),
// a place in the waitlist (Position set, 1-based), or, before a scheduled
// sale opens, a place in the pre-queue (Queued, with the draw's OpensAt and
// DrawCommitment). AlreadyWaiting says the user was in line (or the
// pre-queue) before this call, so the place is not a new one.
type ReserveResult struct {
	Reservation    *Reservation
	Position       int64
	AlreadyWaiting bool

	Queued         bool
	OpensAt        time.Time
	DrawCommitment string
}
