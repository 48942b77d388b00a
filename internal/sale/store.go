package sale

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Store is a flash sale's state and the only place its rules are enforced.
// internal/store implements it once, over each backend's journal.
//
// Every method is atomic and linearizable: it takes effect at one instant
// between its call and its return, and it first applies the expiry of every
// hold whose ExpiresAt has passed, so no answer counts an expired hold as
// held. Methods block only as long as the backend needs to make the change
// durable; a backend that batches many callers into one commit (group
// commit) answers each caller after that commit, behind the same signature.
type Store interface {
	// Do makes the change c and returns its answer. The error is the
	// answer's Err when the rules refused the change, or the store's when it
	// could not decide (ErrUnavailable, ErrKeyInFlight while the key's first
	// attempt still runs, the context's). With a key, the change is made
	// once: a retry with the same key and the same Call, until the key's TTL
	// has passed, is answered with the first answer (its error too),
	// Replayed, and changes nothing; with another Call, ErrKeyMismatch.
	//
	//   - Initialize sets the total inventory. Without reset, holds,
	//     purchases and the line are kept, released units go to waiting
	//     users, and a total below held+confirmed fails with
	//     *InventoryError. With reset, a new sale starts and all of that is
	//     dropped.
	//     c.Window sets the sale's opening and close (see window.go): a
	//     time already passed cannot be moved (ErrScheduleConflict).
	//   - Reserve gives the user a hold while units are available, or a
	//     place in the line once sold out; before a scheduled sale opens,
	//     a place in the pre-queue; after it closes, ErrSaleClosed. A user already waiting gets their
	//     current position; a user holding or owning a unit gets
	//     *ConflictError wrapping ErrAlreadyReserved. ErrNotInitialized
	//     before the first Initialize.
	//   - Confirm turns a hold into a purchase; confirming a confirmed
	//     reservation succeeds again. *ConflictError wrapping ErrHoldExpired
	//     or ErrHoldCancelled otherwise; ErrReservationNotFound for unknown
	//     ids.
	//   - Cancel releases a hold; cancelling a cancelled reservation
	//     succeeds again. *ConflictError wrapping ErrAlreadyConfirmed or
	//     ErrHoldExpired otherwise; ErrReservationNotFound for unknown ids.
	Do(ctx context.Context, c Call, key string) (Answer, error)

	// Reservation reads one reservation.
	Reservation(ctx context.Context, reservationID string) (Reservation, error)

	// User reads where a user stands. Unknown users are None, not an error.
	User(ctx context.Context, userID string) (UserState, error)

	// Leave takes a waiting user out of the line; ErrNotWaiting otherwise.
	Leave(ctx context.Context, userID string) error

	// Status reads the sale's numbers at one instant.
	Status(ctx context.Context) (Status, error)

	// Entrants reads the draw's entrants, sorted by id: everyone in the
	// pre-queue while the sale is scheduled, everyone the draw ordered
	// once it is made, none for a sale with no draw.
	Entrants(ctx context.Context) ([]string, error)

	// Expire applies every expiry due now and reports how many holds
	// expired. Every method already does this; a background sweeper calls it
	// so that waiting users are promoted even when nobody else calls.
	Expire(ctx context.Context) (int, error)

	Feed

	Keyring

	// Close releases the backend's resources.
	Close() error
}

// Clock tells the time and makes timers. Every instant the sale keeps or
// decides by (a hold's expiry, a key's age, a store's back-off after a
// failure) and every timer of the event streams comes from one, so that
// tests move time with a fake clock (internal/clocktest) instead of
// sleeping. Only deadlines on I/O use the system's clock directly.
type Clock interface {
	Now() time.Time
	// After sends the clock's time once d has passed, as time.After does.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

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
	// Seeds is where the secret seeds of draws come from; nil means
	// crypto/rand. Tests give a known one, to predict a draw.
	Seeds io.Reader
	// Outbox names the webhook endpoints whose cursors the store keeps
	// (outbox.go); with none, it keeps none.
	Outbox OutboxConfig
}

// WithDefaults returns cfg with every zero replaced by its default and the
// durations kept to Precision, or an error naming the first setting that
// cannot be used.
func (cfg Config) WithDefaults() (Config, error) {
	var err error
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
	if cfg.Outbox, err = cfg.Outbox.WithDefaults(); err != nil {
		return cfg, err
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
