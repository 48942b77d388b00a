package sale

import (
	"context"
	"fmt"
	"time"
)

// Store is a flash sale's state and the only place its rules are enforced.
//
// Every method is atomic and linearizable: it takes effect at one instant
// between its call and its return, and it first applies the expiry of every
// hold whose ExpiresAt has passed, so no answer counts an expired hold as
// held. Methods block only as long as the backend needs to make the change
// durable; a backend that batches many callers into one commit (group
// commit) answers each caller after that commit, behind the same signature.
type Store interface {
	// Initialize sets the total inventory. Without reset, holds, purchases
	// and the line are kept, released units go to waiting users, and a total
	// below held+confirmed fails with *InventoryError. With reset, a new
	// sale starts and all of that is dropped.
	Initialize(ctx context.Context, total int64, reset bool, a *Attempt) (Status, error)

	// Reserve gives userID a hold while units are available, or a place in
	// the line once sold out. A user already waiting gets their current
	// position; a user holding or owning a unit gets *ConflictError wrapping
	// ErrAlreadyReserved. ErrNotInitialized before the first Initialize.
	Reserve(ctx context.Context, userID string, a *Attempt) (ReserveResult, error)

	// Confirm turns a hold into a purchase; confirming a confirmed
	// reservation succeeds again. *ConflictError wrapping ErrHoldExpired or
	// ErrHoldCancelled otherwise; ErrReservationNotFound for unknown ids.
	Confirm(ctx context.Context, reservationID string, a *Attempt) (Reservation, error)

	// Cancel releases a hold; cancelling a cancelled reservation succeeds
	// again. *ConflictError wrapping ErrAlreadyConfirmed or ErrHoldExpired
	// otherwise; ErrReservationNotFound for unknown ids.
	Cancel(ctx context.Context, reservationID string, a *Attempt) (Reservation, error)

	// Reservation reads one reservation.
	Reservation(ctx context.Context, reservationID string) (Reservation, error)

	// User reads where a user stands. Unknown users are None, not an error.
	User(ctx context.Context, userID string) (UserState, error)

	// Leave takes a waiting user out of the line; ErrNotWaiting otherwise.
	Leave(ctx context.Context, userID string) error

	// Status reads the sale's numbers at one instant.
	Status(ctx context.Context) (Status, error)

	// Expire applies every expiry due now and reports how many holds
	// expired. Every method already does this; a background sweeper calls it
	// so that waiting users are promoted even when nobody else calls.
	Expire(ctx context.Context) (int, error)

	Feed

	// Close releases the backend's resources.
	Close() error
}

// Clock tells the time. Stores never call time.Now directly, so that tests
// move time with a fake clock instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Config is what every Store needs to know.
type Config struct {
	// HoldTTL is how long a hold lasts unless confirmed; zero means
	// DefaultHoldTTL. It is kept to Precision.
	HoldTTL time.Duration
	// Clock tells the time; nil means SystemClock.
	Clock Clock
	// KeyTTL is how long an idempotency key's answer is kept; zero means
	// DefaultKeyTTL. It is kept to Precision.
	KeyTTL time.Duration
	// MaxKeys bounds the keys kept at once; zero means DefaultMaxKeys.
	MaxKeys int
}

// WithDefaults returns cfg with every zero replaced by its default and the
// durations kept to Precision, or an error naming the first setting that
// cannot be used.
func (cfg Config) WithDefaults() (Config, error) {
	if cfg.HoldTTL == 0 {
		cfg.HoldTTL = DefaultHoldTTL
	}
	if err := CheckHoldTTL(cfg.HoldTTL); err != nil {
		return cfg, err
	}
	if cfg.KeyTTL == 0 {
		cfg.KeyTTL = DefaultKeyTTL
	}
	if err := CheckKeyTTL(cfg.KeyTTL); err != nil {
		return cfg, err
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.MaxKeys < 1 {
		return cfg, fmt.Errorf("max keys %d must be at least 1", cfg.MaxKeys)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	cfg.HoldTTL, cfg.KeyTTL = cfg.HoldTTL.Truncate(Precision), cfg.KeyTTL.Truncate(Precision)
	return cfg, nil
}

// DefaultHoldTTL is the hold lifetime when none is configured.
const DefaultHoldTTL = 5 * time.Minute

// CheckHoldTTL says whether ttl can be a hold's lifetime: at least
// Precision, since it is kept to Precision. Zero is not a lifetime here;
// Config reads it as DefaultHoldTTL before asking.
func CheckHoldTTL(ttl time.Duration) error {
	if ttl.Truncate(Precision) <= 0 {
		return fmt.Errorf("hold TTL %v must be at least %v", ttl, Precision)
	}
	return nil
}

// CheckKeyTTL says whether ttl can be an idempotency key's lifetime: at
// least Precision, like a hold's.
func CheckKeyTTL(ttl time.Duration) error {
	if ttl.Truncate(Precision) <= 0 {
		return fmt.Errorf("idempotency key TTL %v must be at least %v", ttl, Precision)
	}
	return nil
}

// Precision is the resolution of every time a Store gives out or keeps:
// PostgreSQL's timestamptz resolution, so that every backend answers the same
// created_at and expires_at to the digit.
const Precision = time.Microsecond

// Instant is t as a Store keeps it: in UTC, cut to Precision, with no
// monotonic clock reading.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(Precision) }
