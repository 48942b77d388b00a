// Package model is the flash sale's rules written as the simplest sequential
// program that obeys them: no locks, no heaps, no indexes, slices scanned
// from the start. It is the specification that the linearizability checker
// (porcupine) and the differential fuzz test hold every sale.Store to.
//
// Every operation takes the time it happens at and first makes everything
// due by then (Advance): the draw at the opening, the expiries, the close,
// as sale.Store promises. Holds are numbered in the order they were made;
// the random reservation ids of a real store are bound to those numbers by
// the checker (see Step), not by the rules.
package model

import (
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Hold is one reservation. ID is empty until a store's answer names it.
type Hold struct {
	ID               string
	User             string
	Status           sale.HoldStatus
	Created, Expires time.Time
}

func (h Hold) equal(o Hold) bool {
	return h.ID == o.ID && h.User == o.User && h.Status == o.Status && h.Created.Equal(o.Created) && h.Expires.Equal(o.Expires)
}

// User is where one user stands: State, and Hold, the index of their current
// or last hold (-1 if none).
type User struct {
	State sale.UserStateKind
	Hold  int
}

// Sale is the whole state of one sale. Held and confirmed are not kept as
// counters: they are counted from Holds, so they cannot drift.
type Sale struct {
	TTL         time.Duration
	Initialized bool
	Total       int64
	Available   int64
	Holds       []Hold
	Users       map[string]User
	Line        []string // the waitlist, head first

	// The window (internal/sale/window.go). Phase is open for a sale with
	// none; a zero time is none. Seed is the draw's, nil for a sale with no
	// draw; Drawn says it was made, and so is public.
	Phase             sale.Phase
	OpensAt, ClosesAt time.Time
	Seed              []byte
	Drawn             bool
	Pre               []string // the pre-queue, in arrival order
	Entrants          []string // the draw's, in drawn order

	// Keys are the idempotency keys used, by scope and key (see keyed),
	// each kept KeyTTL. They outlive a reset.
	KeyTTL time.Duration
	Keys   map[string]kept
}

// New returns a sale that has not been initialized, whose holds last ttl
// and whose keys last sale.DefaultKeyTTL.
func New(ttl time.Duration) *Sale {
	return &Sale{TTL: ttl, Users: map[string]User{}, Phase: sale.PhaseOpen, KeyTTL: sale.DefaultKeyTTL, Keys: map[string]kept{}}
}

// Clone returns a deep copy, so that a step never changes the state it came
// from. Seed and Entrants are never changed in place: they are shared.
func (s *Sale) Clone() *Sale {
	c := *s
	c.Holds = append([]Hold(nil), s.Holds...)
	c.Line = append([]string(nil), s.Line...)
	c.Pre = append([]string(nil), s.Pre...)
	c.Users = make(map[string]User, len(s.Users))
	for k, v := range s.Users {
		c.Users[k] = v
	}
	c.Keys = make(map[string]kept, len(s.Keys))
	for k, v := range s.Keys {
		c.Keys[k] = v
	}
	return &c
}

func (s *Sale) user(id string) User {
	if u, ok := s.Users[id]; ok {
		return u
	}
	return User{State: sale.None, Hold: -1}
}

// Status counts the sale's numbers and shows its window.
func (s *Sale) Status(now time.Time) sale.Status {
	s.Advance(now)
	st := sale.Status{Initialized: s.Initialized, Total: s.Total, Available: s.Available, Waiting: int64(len(s.Line))}
	for _, h := range s.Holds {
		switch h.Status {
		case sale.Held:
			st.Held++
		case sale.Confirmed:
			st.Confirmed++
		}
	}
	if !s.Initialized {
		return st
	}
	st.Phase, st.OpensAt, st.ClosesAt, st.Prequeued = s.Phase, s.OpensAt, s.ClosesAt, int64(len(s.Pre))
	if s.Seed != nil {
		st.DrawCommitment = commitment
		if s.Drawn {
			st.DrawSeed = seedHex
		}
	}
	return st
}

// release hands a unit that stopped being held to the head of the line, or
// puts it back in stock when nobody waits.
func (s *Sale) release(now time.Time) {
	if len(s.Line) == 0 {
		s.Available++
		return
	}
	head := s.Line[0]
	s.Line = s.Line[1:]
	s.grant(head, now)
}

// grant gives user a fresh hold on a unit already taken out of stock.
func (s *Sale) grant(user string, now time.Time) int {
	s.Holds = append(s.Holds, Hold{User: user, Status: sale.Held, Created: now, Expires: now.Add(s.TTL)})
	i := len(s.Holds) - 1
	s.Users[user] = User{State: sale.Holding, Hold: i}
	return i
}

// Initialize sets the total and the window; with reset, or the first time,
// it starts a new sale. It answers the kind of error the call fails with
// ("" for none) and, for sale.ErrInventoryConflict, the units already
// taken. A failed call changes nothing but what Advance made due.
//
// A new sale opens at w.OpensAt when that is ahead (it is then scheduled,
// with a draw), else now, and closes at w.ClosesAt (never when zero), which
// must be ahead. An initialize that goes on with the sale keeps the times
// w leaves zero, may move the opening only while scheduled (to now or
// earlier: the draw is made now), and the close while not closed.
func (s *Sale) Initialize(now time.Time, total int64, reset bool, w sale.Window) (int64, sale.Kind) {
	if !w.OpensAt.IsZero() {
		w.OpensAt = sale.Instant(w.OpensAt)
	}
	if !w.ClosesAt.IsZero() {
		w.ClosesAt = sale.Instant(w.ClosesAt)
	}
	if sale.CheckWindow(w) != nil {
		return 0, sale.ErrInvalid.Kind() // before anything, as a total out of range
	}
	s.Advance(now)
	fresh := reset || !s.Initialized
	if taken := s.taken(); !fresh && total < taken {
		return taken, sale.ErrInventoryConflict.Kind()
	}
	opens, closes, kind := s.schedule(now, fresh, w)
	if kind != "" {
		return 0, kind
	}
	changed := !opens.Equal(s.OpensAt) || !closes.Equal(s.ClosesAt)
	if reset && s.Initialized {
		*s = Sale{TTL: s.TTL, Users: map[string]User{}, Phase: sale.PhaseOpen, KeyTTL: s.KeyTTL, Keys: s.Keys}
		changed = !opens.IsZero() || !closes.IsZero()
	}
	if changed {
		s.OpensAt, s.ClosesAt = opens, closes
		if !opens.IsZero() && s.Seed == nil {
			s.Seed = Seed[:]
		}
		if !opens.IsZero() && (s.Phase == sale.PhaseScheduled || !s.Initialized) {
			s.Phase = sale.PhaseScheduled
		}
	}
	s.Initialized, s.Total, s.Available = true, total, total-s.taken()
	s.Advance(now) // an opening moved to now is drawn now
	for s.Available > 0 && len(s.Line) > 0 {
		s.Available--
		s.release(now)
	}
	return 0, ""
}

func (s *Sale) taken() int64 {
	n := int64(0)
	for _, h := range s.Holds {
		if h.Status == sale.Held || h.Status == sale.Confirmed {
			n++
		}
	}
	return n
}

// Reserved is the answer to a reserve: Err, or a new hold (Hold >= 0), a
// place in line (Position >= 1), or a place in the pre-queue (Queued).
// Again says the user was in line or in the pre-queue already. With
// sale.ErrAlreadyReserved, Hold is the user's current hold or purchase.
type Reserved struct {
	Err      sale.Kind
	Hold     int
	Position int64
	Again    bool
	Queued   bool
}

// Reserve answers a user's request for a unit.
func (s *Sale) Reserve(now time.Time, user string) Reserved {
	s.Advance(now)
	if !s.Initialized {
		return Reserved{Err: sale.ErrNotInitialized.Kind(), Hold: -1}
	}
	u := s.user(user)
	switch u.State {
	case sale.Holding, sale.Bought:
		return Reserved{Err: sale.ErrAlreadyReserved.Kind(), Hold: u.Hold}
	case sale.Waiting:
		return Reserved{Hold: -1, Position: s.position(user), Again: true}
	case sale.Queued:
		return Reserved{Hold: -1, Queued: true, Again: true}
	}
	switch s.Phase {
	case sale.PhaseScheduled:
		s.Pre = append(s.Pre, user)
		s.Users[user] = User{State: sale.Queued, Hold: u.Hold}
		return Reserved{Hold: -1, Queued: true}
	case sale.PhaseClosed:
		return Reserved{Err: sale.ErrSaleClosed.Kind(), Hold: -1}
	}
	if s.Available > 0 {
		s.Available--
		return Reserved{Hold: s.grant(user, now)}
	}
	s.Line = append(s.Line, user)
	s.Users[user] = User{State: sale.Waiting, Hold: u.Hold}
	return Reserved{Hold: -1, Position: int64(len(s.Line))}
}

// Claimed makes what is due and says whether user is known to the sale
// already (has held, waited or queued in it), so that a claim of the name
// by a caller who proves nobody is refused. Before the first initialize
// nobody is.
func (s *Sale) Claimed(now time.Time, user string) bool {
	s.Advance(now)
	_, known := s.Users[user]
	return s.Initialized && known
}

// Confirm turns hold i into a purchase. It returns the hold's status before
// the call; the call succeeded when that was Held or Confirmed. A hold
// given before the close can be confirmed after it.
func (s *Sale) Confirm(now time.Time, i int) sale.HoldStatus {
	s.Advance(now)
	h := &s.Holds[i]
	was := h.Status
	if was == sale.Held {
		h.Status = sale.Confirmed
		s.Users[h.User] = User{State: sale.Bought, Hold: i}
	}
	return was
}

// Cancel releases hold i. It returns the hold's status before the call; the
// call succeeded when that was Held or Cancelled.
func (s *Sale) Cancel(now time.Time, i int) sale.HoldStatus {
	s.Advance(now)
	h := &s.Holds[i]
	was := h.Status
	if was == sale.Held {
		h.Status = sale.Cancelled
		s.Users[h.User] = User{State: sale.None, Hold: i}
		s.release(now)
	}
	return was
}

// User returns where a user stands and, when waiting, their 1-based
// position. The hold it names is the current one, or the last one when the
// user is None; a waiting or queued user has none to show.
func (s *Sale) User(now time.Time, user string) (User, int64) {
	s.Advance(now)
	u := s.user(user)
	switch u.State {
	case sale.Waiting:
		return User{State: sale.Waiting, Hold: -1}, s.position(user)
	case sale.Queued:
		return User{State: sale.Queued, Hold: -1}, 0
	}
	return u, 0
}

// Leave takes a user out of the line or the pre-queue; ok is false if they
// were in neither.
func (s *Sale) Leave(now time.Time, user string) bool {
	s.Advance(now)
	u := s.user(user)
	switch u.State {
	case sale.Waiting:
		p := s.position(user)
		s.Line = append(s.Line[:p-1:p-1], s.Line[p:]...) // a new array: clones may share the old one
	case sale.Queued:
		i := slices.Index(s.Pre, user)
		s.Pre = append(s.Pre[:i:i], s.Pre[i+1:]...)
	default:
		return false
	}
	s.Users[user] = User{State: sale.None, Hold: u.Hold}
	return true
}

func (s *Sale) position(user string) int64 {
	for i, u := range s.Line {
		if u == user {
			return int64(i + 1)
		}
	}
	return 0
}
