// Package rules is the flash sale's rules, written once, and the in-memory
// state they run on. Every backend runs the same rules on the same state:
// the memory store keeps nothing else; a durable store also writes the
// events the rules emit and replays them at start.
//
// A decision (Initialize, Reserve, Confirm, Cancel, Leave, Expire) reads the
// state, decides, and records what it decided as events; an event changes
// the state only through apply, the one place each kind of change is made.
// Replaying a sale's events through Apply therefore rebuilds exactly the
// state the decisions left, with nothing restated.
//
// A Sale is not safe for concurrent use: its owner serializes calls
// (internal/store does it with one lock).
package rules

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Sale is one sale's whole state.
type Sale struct {
	ttl time.Duration

	seq         uint64 // the last event applied
	began       uint64 // the reset that began this sale (0: none has)
	initialized bool
	total       int64
	available   int64
	held        int64
	confirmed   int64
	accounts    *accounts
	holds       map[string]*hold // by reservation id
	line        *waitlist
	expiries    expiries
	window      window
	seeds       io.Reader // where draw seeds come from

	pending []sale.Event // decided since the last Take

	// keys outlive a reset: an admin's retried "initialize with reset"
	// must be answered, not start yet another sale.
	keys keyTable
}

// hold is one reservation.
type hold struct {
	id        string
	user      string
	acct      ref
	status    sale.HoldStatus
	createdAt time.Time
	expiresAt time.Time
}

// New returns an empty sale whose holds last cfg.HoldTTL (kept to
// sale.Precision) and whose keys last cfg.KeyTTL, at most cfg.MaxKeys of
// them kept at once. Zeros are the defaults; cfg.Clock is not used.
func New(cfg sale.Config) (*Sale, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sale{ttl: cfg.HoldTTL, keys: newKeyTable(cfg.KeyTTL, cfg.MaxKeys), seeds: cfg.Seeds}
	if s.seeds == nil {
		s.seeds = rand.Reader
	}
	s.clear()
	return s, nil
}

func (s *Sale) clear() {
	s.initialized = false
	s.total, s.available, s.held, s.confirmed = 0, 0, 0, 0
	if s.accounts == nil {
		s.accounts = newAccounts()
	} else {
		s.accounts = s.accounts.emptied()
	}
	s.holds = make(map[string]*hold)
	s.line = newWaitlist(s.accounts)
	s.expiries = nil
	s.window = window{phase: sale.PhaseOpen}
}

// Seq is the sequence number of the last event applied.
func (s *Sale) Seq() uint64 { return s.seq }

// Take returns the events decided since the last Take, in order, and
// forgets them. The slice is valid until the next decision, which reuses
// its array: a crowd's calls then allocate nothing for their events.
func (s *Sale) Take() []sale.Event {
	e := s.pending
	s.pending = s.pending[:0]
	return e
}

// Reserve gives user a hold while units are in stock, or a place at the end
// of the line once sold out. A user already waiting gets their place; one
// holding or owning a unit gets *sale.ConflictError wrapping
// sale.ErrAlreadyReserved.
func (s *Sale) Reserve(now time.Time, user string) (sale.ReserveResult, error) {
	now = sale.Instant(now)
	s.advance(now)
	if !s.initialized {
		return sale.ReserveResult{}, fmt.Errorf("reserve %s: %w", user, sale.ErrNotInitialized)
	}
	if r := s.accounts.find(user); r != 0 {
		a := s.accounts.get(r)
		switch a.state {
		case sale.Holding, sale.Bought:
			return sale.ReserveResult{}, fmt.Errorf("reserve %s: %w", user,
				&sale.ConflictError{Err: sale.ErrAlreadyReserved, Reservation: a.hold.snapshot()})
		case sale.Waiting:
			return sale.ReserveResult{Position: s.line.position(a.ticket), AlreadyWaiting: true}, nil
		case sale.Queued:
			return s.queue(now, user, true), nil
		}
	}
	switch s.window.phase {
	case sale.PhaseScheduled:
		return s.queue(now, user, false), nil
	case sale.PhaseClosed:
		return sale.ReserveResult{}, fmt.Errorf("reserve %s: %w at %s", user, sale.ErrSaleClosed, sale.Stamp(s.window.closesAt))
	}
	if s.available > 0 {
		r := s.grant(sale.EventGranted, user, now).snapshot()
		return sale.ReserveResult{Reservation: &r}, nil
	}
	pos := int64(s.line.len()) + 1
	s.emit(sale.Event{Kind: sale.EventJoined, At: now, UserID: user, Position: pos})
	return sale.ReserveResult{Position: pos}, nil
}

// Claim is Reserve for a caller who proves no identity: it reserves only for
// a user new to the sale (who has never reserved in it), and refuses one the
// sale knows with sale.ErrTokenRequired, changing nothing. Deciding it here,
// with the reserve, is what keeps two strangers from both claiming one new
// name: the first is the user, the second is refused.
func (s *Sale) Claim(now time.Time, user string) (sale.ReserveResult, error) {
	now = sale.Instant(now)
	s.advance(now)
	if s.initialized && s.accounts.find(user) != 0 {
		return sale.ReserveResult{}, fmt.Errorf("reserve %s: %w", user, sale.ErrTokenRequired)
	}
	return s.Reserve(now, user)
}

// Confirm turns a hold into a purchase; confirming a confirmed reservation
// succeeds again. An expired or cancelled hold is a *sale.ConflictError.
func (s *Sale) Confirm(now time.Time, id string) (sale.Reservation, error) {
	return s.ConfirmFor(now, id, "")
}

// ConfirmFor is Confirm made for user: another user's reservation is
// sale.ErrReservationNotFound, as one that does not exist. An empty user is
// an operator, for whom every reservation is found.
func (s *Sale) ConfirmFor(now time.Time, id, user string) (sale.Reservation, error) {
	now = sale.Instant(now)
	s.advance(now)
	h := s.find(id, user)
	if h == nil {
		return sale.Reservation{}, fmt.Errorf("confirm %s: %w", id, sale.ErrReservationNotFound)
	}
	switch h.status {
	case sale.Held:
		s.emit(sale.Event{Kind: sale.EventConfirmed, At: now, UserID: h.user, ReservationID: id})
	case sale.Expired:
		return sale.Reservation{}, fmt.Errorf("confirm %s: %w", id, &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: h.snapshot()})
	case sale.Cancelled:
		return sale.Reservation{}, fmt.Errorf("confirm %s: %w", id, &sale.ConflictError{Err: sale.ErrHoldCancelled, Reservation: h.snapshot()})
	}
	return h.snapshot(), nil
}

// Cancel releases a hold, its unit going to the head of the line or back to
// stock; cancelling a cancelled reservation succeeds again. An expired or
// confirmed hold is a *sale.ConflictError.
func (s *Sale) Cancel(now time.Time, id string) (sale.Reservation, error) {
	return s.CancelFor(now, id, "")
}

// CancelFor is Cancel made for user, as ConfirmFor is Confirm.
func (s *Sale) CancelFor(now time.Time, id, user string) (sale.Reservation, error) {
	now = sale.Instant(now)
	s.advance(now)
	h := s.find(id, user)
	if h == nil {
		return sale.Reservation{}, fmt.Errorf("cancel %s: %w", id, sale.ErrReservationNotFound)
	}
	switch h.status {
	case sale.Held:
		s.emit(sale.Event{Kind: sale.EventCancelled, At: now, UserID: h.user, ReservationID: id})
		s.refill(now)
	case sale.Expired:
		return sale.Reservation{}, fmt.Errorf("cancel %s: %w", id, &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: h.snapshot()})
	case sale.Confirmed:
		return sale.Reservation{}, fmt.Errorf("cancel %s: %w", id, &sale.ConflictError{Err: sale.ErrAlreadyConfirmed, Reservation: h.snapshot()})
	}
	return h.snapshot(), nil
}

// find is the hold id names, if it is user's or user is empty.
func (s *Sale) find(id, user string) *hold {
	h := s.holds[id]
	if h == nil || user != "" && h.user != user {
		return nil
	}
	return h
}

// Leave takes a waiting user out of the line; sale.ErrNotWaiting otherwise.
func (s *Sale) Leave(now time.Time, user string) error {
	now = sale.Instant(now)
	s.advance(now)
	r := s.accounts.find(user)
	if r == 0 {
		return fmt.Errorf("leave %s: %w", user, sale.ErrNotWaiting)
	}
	switch a := s.accounts.get(r); a.state {
	case sale.Waiting:
		s.emit(sale.Event{Kind: sale.EventLeft, At: now, UserID: user, Position: s.line.position(a.ticket)})
	case sale.Queued:
		s.emit(sale.Event{Kind: sale.EventLeft, At: now, UserID: user})
	default:
		return fmt.Errorf("leave %s: %w", user, sale.ErrNotWaiting)
	}
	return nil
}

// Expire makes everything due at now (see advance): the draw, the close,
// and every expiry, each unit going to the head of the line or back to
// stock; it reports how many holds expired. A hold is expired at its
// ExpiresAt exactly. Every decision does this first.
func (s *Sale) Expire(now time.Time) int { return s.advance(sale.Instant(now)) }

func (s *Sale) expire(now time.Time) int {
	n := 0
	for s.Due(now) {
		h := s.expiries.pop()
		s.emit(sale.Event{Kind: sale.EventExpired, At: now, UserID: h.user, ReservationID: h.id})
		s.refill(now)
		n++
	}
	return n
}

// Due reports whether a hold is due to expire at now, or the draw or the
// close: whether a read at now must first make it (and so is a change,
// not a pure read).
func (s *Sale) Due(now time.Time) bool {
	now = sale.Instant(now)
	if s.window.due(now) {
		return true
	}
	s.dropResolved()
	return len(s.expiries) > 0 && !now.Before(s.expiries.peek().expiresAt)
}

// dropResolved drops the confirmed and cancelled holds at the top of the
// expiry heap: they stay in it until they reach the top (lazy deletion
// keeps confirm and cancel O(1)).
func (s *Sale) dropResolved() {
	for len(s.expiries) > 0 && s.expiries.peek().status != sale.Held {
		s.expiries.pop()
	}
}

// refill gives a unit just released to the head of the line, if anyone
// waits. Released units land in stock first (see apply), so this is what
// keeps "available > 0 ⇒ nobody waits" true after every decision.
func (s *Sale) refill(now time.Time) {
	if s.available > 0 && s.line.len() > 0 {
		s.promote(now)
	}
}

// promote gives the head of the line a fresh hold on a unit in stock.
func (s *Sale) promote(now time.Time) {
	s.grant(sale.EventPromoted, s.accounts.id(s.line.first()), now)
}

// grant emits a new hold for user and returns it. The id is made here, for
// grants only: once stock is gone nearly every request joins the line and
// needs none.
func (s *Sale) grant(kind sale.EventKind, user string, now time.Time) *hold {
	id := newID()
	s.emit(sale.Event{Kind: kind, At: now, UserID: user, ReservationID: id, ExpiresAt: now.Add(s.ttl)})
	return s.holds[id]
}

// emit numbers e, applies it and records it for Take. The rules only emit
// events that apply to the state they just read, so a failure here is a bug.
func (s *Sale) emit(e sale.Event) {
	e.Seq = s.seq + 1
	if err := s.apply(e); err != nil {
		panic(fmt.Sprintf("rules: an event the rules decided does not apply: %v", err))
	}
	s.pending = append(s.pending, e)
}

// Status is the sale's numbers. It applies no expiry: call Expire first, or
// check Due.
func (s *Sale) Status() sale.Status {
	st := sale.Status{
		Initialized: s.initialized,
		Total:       s.total,
		Available:   s.available,
		Held:        s.held,
		Confirmed:   s.confirmed,
		Waiting:     int64(s.line.len()),
	}
	if !s.initialized {
		return st
	}
	w := &s.window
	st.Phase, st.OpensAt, st.ClosesAt, st.Prequeued = w.phase, w.opensAt, w.closesAt, int64(w.pre.size)
	if w.seed != nil {
		st.DrawCommitment = w.commit
		if w.drawn {
			st.DrawSeed = hex.EncodeToString(w.seed)
		}
	}
	return st
}

// User is where a user stands; unknown users are None. It applies no expiry.
func (s *Sale) User(user string) sale.UserState {
	st := sale.UserState{UserID: user, State: sale.None, Seq: s.seq, Sale: s.began}
	if s.initialized {
		st.Phase = s.window.phase
	}
	r := s.accounts.find(user)
	if r == 0 {
		return st
	}
	a := s.accounts.get(r)
	st.State = a.state
	switch {
	case a.state == sale.Waiting:
		st.Position = s.line.position(a.ticket)
	case a.state == sale.Queued:
		st.OpensAt, st.DrawCommitment = s.window.opensAt, s.window.commit
	case a.hold != nil:
		r := a.hold.snapshot()
		st.Reservation = &r
	}
	return st
}

// Reservation reads one reservation. It applies no expiry.
func (s *Sale) Reservation(id string) (sale.Reservation, error) {
	h := s.holds[id]
	if h == nil {
		return sale.Reservation{}, fmt.Errorf("read reservation %s: %w", id, sale.ErrReservationNotFound)
	}
	return h.snapshot(), nil
}

func (h *hold) snapshot() sale.Reservation {
	return sale.Reservation{
		ID:        h.id,
		UserID:    h.user,
		Status:    h.status,
		CreatedAt: h.createdAt,
		ExpiresAt: h.expiresAt,
	}
}
