package sale

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"time"
)

// A sale may have a window: it opens at OpensAt and closes at ClosesAt.
// Before the opening, a reserve puts the user in the pre-queue, with no
// place; at the opening one draw orders everyone in it, the first Available
// get holds and the rest form the line in drawn order; after the close no
// hold is given and the line is gone, though holds already given can still
// be confirmed until they expire.

// Phase is where a sale is in its window.
type Phase string

const (
	// PhaseScheduled: before OpensAt; reserves join the pre-queue.
	PhaseScheduled Phase = "scheduled"
	// PhaseOpen: holds and the line, as in a sale with no window.
	PhaseOpen Phase = "open"
	// PhaseClosed: from ClosesAt on; reserves are refused.
	PhaseClosed Phase = "closed"
)

// SeedSize is the draw seed's length in bytes.
const SeedSize = 32

// Commitment is the hex SHA-256 of seed: what a scheduled sale publishes so
// that, once the seed is revealed at the opening, anyone can check that it
// is the seed chosen before anyone entered.
func Commitment(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// DrawKeys computes each entrant's draw key, HMAC-SHA256(seed, user id):
// the order of a draw is the entrants sorted by it (see DrawOrder). It is
// not safe for concurrent use.
type DrawKeys struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// NewDrawKeys returns the keys of the draw made with seed.
func NewDrawKeys(seed []byte) *DrawKeys {
	return &DrawKeys{mac: hmac.New(sha256.New, seed)}
}

// Key returns user's draw key, valid until the next call.
func (k *DrawKeys) Key(user string) []byte {
	k.mac.Reset()
	k.buf = append(k.buf[:0], user...)
	k.mac.Write(k.buf)
	return k.mac.Sum(k.sum[:0])
}

// CompareDrawn orders two entrants of one draw: by draw key (compared as
// big-endian numbers), then, for the keys of two ids being equal (which
// SHA-256 makes as good as impossible), by id, so that the order is total.
func CompareDrawn(keyA []byte, userA string, keyB []byte, userB string) int {
	if c := bytes.Compare(keyA, keyB); c != 0 {
		return c
	}
	return bytes.Compare([]byte(userA), []byte(userB))
}

// DrawOrder is the order a draw made with seed gives entrants: the first is
// served first. It is the documented function anyone can recompute:
// entrants sorted by HMAC-SHA256(seed, user id), smallest first, ties
// (never seen) by id; the order entrants come in does not matter, and an
// id given twice counts once.
func DrawOrder(seed []byte, entrants []string) []string {
	type entrant struct {
		key  [sha256.Size]byte
		user string
	}
	keys := NewDrawKeys(seed)
	list := make([]entrant, 0, len(entrants))
	for _, u := range entrants {
		e := entrant{user: u}
		copy(e.key[:], keys.Key(u))
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b entrant) int { return CompareDrawn(a.key[:], a.user, b.key[:], b.user) })
	list = slices.CompactFunc(list, func(a, b entrant) bool { return a.user == b.user })
	order := make([]string, len(list))
	for i, e := range list {
		order[i] = e.user
	}
	return order
}

// ParseSeed reads a seed written in hex, as /status reveals it.
func ParseSeed(s string) ([]byte, error) {
	seed, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("draw seed %q is not hex: %w", s, err)
	}
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("draw seed has %d bytes; a seed has %d (%d hex digits)", len(seed), SeedSize, 2*SeedSize)
	}
	return seed, nil
}

// Window is when a sale takes reserves. A zero OpensAt is a sale open from
// its initialize; a zero ClosesAt one that never closes.
type Window struct {
	OpensAt, ClosesAt time.Time
}

// CheckWindow says whether w can be a sale's window: a close after the
// opening. Whether its times are still ahead is the sale's to judge.
func CheckWindow(w Window) error {
	if !w.ClosesAt.IsZero() && !w.OpensAt.IsZero() && !w.ClosesAt.After(w.OpensAt) {
		return fmt.Errorf("closes_at %s must be after opens_at %s", Stamp(w.ClosesAt), Stamp(w.OpensAt))
	}
	return nil
}

// Stamp writes t as every answer does: RFC 3339 in UTC, to the microsecond.
func Stamp(t time.Time) string { return Instant(t).Format(time.RFC3339Nano) }
