// Package model is the flash sale's rules written as the simplest sequential
// program that obeys them: no locks, no heaps, no indexes, slices scanned
// from the start. It is the specification that the linearizability checker
// (porcupine) and the differential fuzz test hold every sale.Store to.
//
// Every operation takes the time it happens at and first applies the expiry
// of every hold due by then, as sale.Store promises. Holds are numbered in the
// order they were made; the random reservation ids of a real store are bound
// to those numbers by the checker (see Step), not by the rules.
package model

import (
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

	// Keys are the idempotency keys used, by scope and key (see keyed),
	// each kept KeyTTL. They outlive a reset.
	KeyTTL time.Duration
	Keys   map[string]kept
}

// New returns a sale that has not been initialized, whose holds last ttl
// and whose keys last sale.DefaultKeyTTL.
func New(ttl time.Duration) *Sale {
	return &Sale{TTL: ttl, Users: map[string]User{}, KeyTTL: sale.DefaultKeyTTL, Keys: map[string]kept{}}
}

// Clone returns a deep copy, so that a step never changes the state it came from.
func (s *Sale) Clone() *Sale {
	c := *s
	c.Holds = append([]Hold(nil), s.Holds...)
	c.Line = append([]string(nil), s.Line...)
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

// Status counts the sale's numbers.
func (s *Sale) Status(now time.Time) sale.Status {
	s.Expire(now)
	st := sale.Status{Initialized: s.Initialized, Total: s.Total, Available: s.Available, Waiting: int64(len(s.Line))}
	for _, h := range s.Holds {
		switch h.Status {
		case sale.Held:
			st.Held++
		case sale.Confirmed:
			st.Confirmed++
		}
	}
	return st
}

// Expire applies every expiry due at now and returns how many holds expired.
// A hold is expired at Expires exactly.
func (s *Sale) Expire(now time.Time) int {
	n := 0
	for i := range s.Holds {
		if h := &s.Holds[i]; h.Status == sale.Held && !now.Before(h.Expires) {
			h.Status = sale.Expired
			s.Users[h.User] = User{State: sale.None, Hold: i}
			s.release(now)
			n++
		}
	}
	return n
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

// Initialize sets the total; with reset it starts a new sale. It returns the
// units already taken when the total is below them (and then changes nothing
// but the expiries), or ok.
func (s *Sale) Initialize(now time.Time, total int64, reset bool) (taken int64, ok bool) {
	s.Expire(now)
	if reset && s.Initialized {
		*s = Sale{TTL: s.TTL, Initialized: true, Users: map[string]User{}, KeyTTL: s.KeyTTL, Keys: s.Keys}
	}
	st := s.Status(now)
	if taken := st.Held + st.Confirmed; total < taken {
		return taken, false
	}
	s.Initialized, s.Total, s.Available = true, total, total-st.Held-st.Confirmed
	for s.Available > 0 && len(s.Line) > 0 {
		s.Available--
		s.release(now)
	}
	return 0, true
}

// Reserve answers a user's request for a unit: a new hold (hold >= 0), a
// place in line (position >= 1, waiting says they were in line already), or
// the user's current hold or purchase with held = true (a conflict).
// ok is false when the sale is not initialized.
func (s *Sale) Reserve(now time.Time, user string) (hold int, position int64, waiting, held, ok bool) {
	s.Expire(now)
	if !s.Initialized {
		return -1, 0, false, false, false
	}
	u := s.user(user)
	switch u.State {
	case sale.Holding, sale.Bought:
		return u.Hold, 0, false, true, true
	case sale.Waiting:
		return -1, s.position(user), true, false, true
	}
	if s.Available > 0 {
		s.Available--
		return s.grant(user, now), 0, false, false, true
	}
	s.Line = append(s.Line, user)
	s.Users[user] = User{State: sale.Waiting, Hold: u.Hold}
	return -1, int64(len(s.Line)), false, false, true
}

// Claimed applies the expiries due and says whether user is known to the
// sale already (has held or waited in it), so that a claim of the name by a
// caller who proves nobody is refused. Before the first initialize nobody
// is.
func (s *Sale) Claimed(now time.Time, user string) bool {
	s.Expire(now)
	_, known := s.Users[user]
	return s.Initialized && known
}

// Confirm turns hold i into a purchase. It returns the hold's status before
// the call; the call succeeded when that was Held or Confirmed.
func (s *Sale) Confirm(now time.Time, i int) sale.HoldStatus {
	s.Expire(now)
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
	s.Expire(now)
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
// user is None; a waiting user has none to show.
func (s *Sale) User(now time.Time, user string) (User, int64) {
	s.Expire(now)
	u := s.user(user)
	if u.State == sale.Waiting {
		return User{State: sale.Waiting, Hold: -1}, s.position(user)
	}
	return u, 0
}

// Leave takes a waiting user out of the line; ok is false if they were not in it.
func (s *Sale) Leave(now time.Time, user string) bool {
	s.Expire(now)
	u := s.user(user)
	if u.State != sale.Waiting {
		return false
	}
	p := s.position(user)
	s.Line = append(s.Line[:p-1:p-1], s.Line[p:]...) // a new array: clones may share the old one
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
