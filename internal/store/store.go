// Package store is the in-memory sale.Store: the reference implementation of
// the sale's rules, fast enough to serve a crowd from one process.
//
// Locks (docs/design.md argues each point at length):
//
//   - Store.mu, the sale lock, guards the numbers (total, available, held,
//     confirmed), the waitlist, the expiry heap, the event sequence, and the
//     mutable fields of every account and hold. Every rule is applied under
//     it, so each operation is one atomic step and the invariants hold
//     whenever it is free.
//   - Each directory shard's lock guards one shard of the user and hold
//     directories (maps from id to entry). It is a leaf: nothing is locked
//     while it is held. It is taken either alone or inside Store.mu.
//
// So the only lock order is Store.mu, then one shard lock, and no cycle, hence
// no deadlock, is possible.
package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Store is the in-memory sale.Store. Its zero value is not usable; call New.
type Store struct {
	clock   sale.Clock
	ttl     time.Duration
	onEvent func(sale.Event)

	users *directory[account] // by user id
	holds *directory[hold]    // by reservation id

	// epoch numbers the sales: Initialize with reset starts a new one. It is
	// written under mu and read without it by the directories, which use it
	// to replace entries left from an earlier sale.
	epoch atomic.Uint64

	mu          sync.Mutex
	initialized bool
	total       int64
	available   int64
	held        int64
	confirmed   int64
	line        *waitlist
	expiries    expiries
	seq         uint64
}

// account is one user's standing in one sale. id and epoch never change;
// the other fields are guarded by Store.mu.
type account struct {
	id    string
	epoch uint64

	state  sale.UserStateKind
	ticket uint64 // the waitlist ticket, while state is Waiting; set by the waitlist
	hold   *hold  // the current hold or purchase, or the last hold
}

// hold is one reservation. All fields but status are set before the hold is
// published and never change; status is guarded by Store.mu.
type hold struct {
	id        string
	acct      *account
	epoch     uint64
	createdAt time.Time
	expiresAt time.Time

	status sale.HoldStatus
}

var _ sale.Store = (*Store)(nil)

// New returns an empty store; nothing is for sale until Initialize.
func New(cfg sale.Config) (*Store, error) {
	if cfg.HoldTTL == 0 {
		cfg.HoldTTL = sale.DefaultHoldTTL
	}
	if cfg.HoldTTL < 0 {
		return nil, fmt.Errorf("new store: hold TTL %v is negative", cfg.HoldTTL)
	}
	if cfg.Clock == nil {
		cfg.Clock = sale.SystemClock{}
	}
	s := &Store{
		clock:   cfg.Clock,
		ttl:     cfg.HoldTTL,
		onEvent: cfg.OnEvent,
		users:   newDirectory[account](),
		holds:   newDirectory[hold](),
		line:    newWaitlist(),
	}
	s.epoch.Store(1)
	return s, nil
}

// Close does nothing: memory needs no releasing.
func (s *Store) Close() error { return nil }

// Initialize implements sale.Store.
func (s *Store) Initialize(ctx context.Context, total int64, reset bool) (sale.Status, error) {
	if err := ctx.Err(); err != nil {
		return sale.Status{}, err
	}
	if total < 0 || total > sale.MaxInventory {
		return sale.Status{}, fmt.Errorf("initialize %d: %w: total must be within 0..%d", total, sale.ErrInvalid, sale.MaxInventory)
	}
	s.mu.Lock()
	now := s.clock.Now()
	s.expireDue(now)
	if reset && s.initialized {
		s.epoch.Add(1)
		s.held, s.confirmed = 0, 0
		s.line = newWaitlist()
		s.expiries = nil
		s.emit(sale.Event{Kind: sale.EventReset})
	}
	if taken := s.held + s.confirmed; total < taken {
		s.mu.Unlock()
		return sale.Status{}, fmt.Errorf("initialize %d: %w", total, &sale.InventoryError{Total: total, Taken: taken})
	}
	s.initialized = true
	s.total = total
	s.available = total - s.held - s.confirmed
	for s.available > 0 && s.line.len() > 0 {
		s.available--
		s.promote(now)
	}
	st := s.status()
	s.mu.Unlock()

	if reset {
		// Entries of earlier sales are already invisible (every reader checks
		// the epoch under mu); this only gives their memory back.
		cur := s.epoch.Load()
		s.users.deleteIf(func(a *account) bool { return a.epoch < cur })
		s.holds.deleteIf(func(h *hold) bool { return h.epoch < cur })
	}
	return st, nil
}

// Reserve implements sale.Store.
func (s *Store) Reserve(ctx context.Context, userID string) (sale.ReserveResult, error) {
	if err := ctx.Err(); err != nil {
		return sale.ReserveResult{}, err
	}
	for {
		acct := s.users.getOrPut(userID, s.current, func() *account {
			return &account{id: userID, epoch: s.epoch.Load(), state: sale.None}
		})
		s.mu.Lock()
		if acct.epoch != s.epoch.Load() {
			// A reset started a new sale between the lookup and the lock:
			// this account belongs to the old one. Look up again.
			s.mu.Unlock()
			continue
		}
		res, err := s.reserve(acct)
		s.mu.Unlock()
		if err != nil {
			return sale.ReserveResult{}, fmt.Errorf("reserve %s: %w", userID, err)
		}
		return res, nil
	}
}

func (s *Store) reserve(acct *account) (sale.ReserveResult, error) {
	now := s.clock.Now()
	s.expireDue(now)
	if !s.initialized {
		return sale.ReserveResult{}, sale.ErrNotInitialized
	}
	switch acct.state {
	case sale.Holding, sale.Bought:
		return sale.ReserveResult{}, &sale.ConflictError{Err: sale.ErrAlreadyReserved, Reservation: acct.hold.snapshot()}
	case sale.Waiting:
		return sale.ReserveResult{Position: s.line.position(acct.ticket), AlreadyWaiting: true}, nil
	}
	if s.available > 0 {
		s.available--
		h := s.grant(acct, now)
		r := h.snapshot()
		return sale.ReserveResult{Reservation: &r}, nil
	}
	_, pos := s.line.push(acct)
	acct.state = sale.Waiting
	s.emit(sale.Event{Kind: sale.EventJoined, UserID: acct.id, Position: pos})
	return sale.ReserveResult{Position: pos}, nil
}

// Confirm implements sale.Store.
func (s *Store) Confirm(ctx context.Context, reservationID string) (sale.Reservation, error) {
	return s.resolve(ctx, "confirm", reservationID, func(h *hold, _ time.Time) error {
		switch h.status {
		case sale.Held:
			h.status = sale.Confirmed
			h.acct.state = sale.Bought
			s.held--
			s.confirmed++
		case sale.Expired:
			return &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: h.snapshot()}
		case sale.Cancelled:
			return &sale.ConflictError{Err: sale.ErrHoldCancelled, Reservation: h.snapshot()}
		}
		return nil // Confirmed: a repeat succeeds again
	})
}

// Cancel implements sale.Store.
func (s *Store) Cancel(ctx context.Context, reservationID string) (sale.Reservation, error) {
	return s.resolve(ctx, "cancel", reservationID, func(h *hold, now time.Time) error {
		switch h.status {
		case sale.Held:
			h.status = sale.Cancelled
			h.acct.state = sale.None
			s.held--
			s.release(now)
		case sale.Expired:
			return &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: h.snapshot()}
		case sale.Confirmed:
			return &sale.ConflictError{Err: sale.ErrAlreadyConfirmed, Reservation: h.snapshot()}
		}
		return nil // Cancelled: a repeat succeeds again
	})
}

// Reservation implements sale.Store.
func (s *Store) Reservation(ctx context.Context, reservationID string) (sale.Reservation, error) {
	return s.resolve(ctx, "read reservation", reservationID, func(*hold, time.Time) error { return nil })
}

// resolve runs change on the hold with that id under the sale lock, after
// applying due expiries, and returns the hold as it is afterwards. The clock
// is read once: the whole operation takes effect at that instant, and a
// promotion it causes is dated by it (the linearizability checker caught an
// earlier Cancel that read the clock twice). Expiries are applied even when
// the id is unknown, as every method promises.
func (s *Store) resolve(ctx context.Context, op, id string, change func(*hold, time.Time) error) (sale.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return sale.Reservation{}, err
	}
	h := s.holds.get(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.expireDue(now)
	if h == nil || h.epoch != s.epoch.Load() {
		return sale.Reservation{}, fmt.Errorf("%s %s: %w", op, id, sale.ErrReservationNotFound)
	}
	if err := change(h, now); err != nil {
		return sale.Reservation{}, fmt.Errorf("%s %s: %w", op, id, err)
	}
	return h.snapshot(), nil
}

// User implements sale.Store.
func (s *Store) User(ctx context.Context, userID string) (sale.UserState, error) {
	if err := ctx.Err(); err != nil {
		return sale.UserState{}, err
	}
	// A lookup never creates an account: reading unknown users costs no memory.
	acct := s.users.get(userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.clock.Now())
	st := sale.UserState{UserID: userID, State: sale.None}
	if acct == nil || acct.epoch != s.epoch.Load() {
		return st, nil
	}
	st.State = acct.state
	if acct.state == sale.Waiting {
		st.Position = s.line.position(acct.ticket)
	}
	if acct.hold != nil && acct.state != sale.Waiting {
		r := acct.hold.snapshot()
		st.Reservation = &r
	}
	return st, nil
}

// Leave implements sale.Store.
func (s *Store) Leave(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	acct := s.users.get(userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.clock.Now())
	if acct == nil || acct.epoch != s.epoch.Load() || acct.state != sale.Waiting {
		return fmt.Errorf("leave %s: %w", userID, sale.ErrNotWaiting)
	}
	pos := s.line.position(acct.ticket)
	s.line.remove(acct.ticket)
	acct.state = sale.None
	s.emit(sale.Event{Kind: sale.EventLeft, UserID: userID, Position: pos})
	return nil
}

// Status implements sale.Store.
func (s *Store) Status(ctx context.Context) (sale.Status, error) {
	if err := ctx.Err(); err != nil {
		return sale.Status{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.clock.Now())
	return s.status(), nil
}

// Expire implements sale.Store.
func (s *Store) Expire(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expireDue(s.clock.Now()), nil
}

// current reports whether acct belongs to the running sale. The directories
// call it to replace accounts left from a sale that a reset ended.
func (s *Store) current(acct *account) bool { return acct.epoch == s.epoch.Load() }

// The methods below run with s.mu held.

// expireDue expires every hold whose expiresAt is not after now, releasing
// each unit in turn, and returns how many expired. A hold is expired at
// expiresAt exactly.
func (s *Store) expireDue(now time.Time) int {
	n := 0
	for len(s.expiries) > 0 && !now.Before(s.expiries.peek().expiresAt) {
		h := s.expiries.pop()
		if h.status != sale.Held {
			continue // confirmed or cancelled since; see expiries
		}
		h.status = sale.Expired
		h.acct.state = sale.None
		s.held--
		s.release(now)
		n++
	}
	return n
}

// release puts one unit that stopped being held back into play: to the head
// of the line if anyone waits, else into stock. This is what keeps
// available > 0 ⇒ nobody waiting.
func (s *Store) release(now time.Time) {
	if s.line.len() > 0 {
		s.promote(now)
		return
	}
	s.available++
}

// promote gives a unit that is already out of stock to the head of the line.
func (s *Store) promote(now time.Time) {
	acct := s.line.pop()
	h := s.grant(acct, now)
	s.emit(sale.Event{Kind: sale.EventPromoted, UserID: acct.id, ReservationID: h.id})
}

// grant makes a fresh hold for acct on a unit the caller took out of stock.
//
// The id is made here, under the lock, for grants only: once the stock is
// gone nearly every request joins the line and needs none, and a grant
// happens at most once per unit and promotion.
func (s *Store) grant(acct *account, now time.Time) *hold {
	h := &hold{
		id:        newID(),
		acct:      acct,
		epoch:     acct.epoch,
		createdAt: now,
		expiresAt: now.Add(s.ttl),
		status:    sale.Held,
	}
	acct.state, acct.hold = sale.Holding, h
	s.held++
	s.expiries.push(h)
	// Published under mu, so a user who reads their promotion can read the
	// reservation at once.
	s.holds.put(h.id, h)
	return h
}

func (s *Store) emit(e sale.Event) {
	s.seq++
	e.Seq = s.seq
	if s.onEvent != nil {
		s.onEvent(e)
	}
}

func (s *Store) status() sale.Status {
	return sale.Status{
		Initialized: s.initialized,
		Total:       s.total,
		Available:   s.available,
		Held:        s.held,
		Confirmed:   s.confirmed,
		Waiting:     int64(s.line.len()),
	}
}

func (h *hold) snapshot() sale.Reservation {
	return sale.Reservation{
		ID:        h.id,
		UserID:    h.acct.id,
		Status:    h.status,
		CreatedAt: h.createdAt,
		ExpiresAt: h.expiresAt,
	}
}
