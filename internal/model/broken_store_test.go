package model_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Do runs a call, with an idempotency key once per scope and key: a retry
// of the same call gets the kept answer (replayed), another call
// ErrKeyMismatch. Keys never expire here: a history is far shorter than a
// key's TTL.
func (n *naive) Do(_ context.Context, c sale.Call, key string) (sale.Answer, error) {
	run := func() sale.Answer {
		var a sale.Answer
		switch c.Op {
		case sale.OpInitialize:
			a.Status, a.Err = n.initialize(c.Total, c.Reset, c.Window)
		case sale.OpReserve:
			a.Reserve, a.Err = n.reserve(c.UserID, c.Claim)
		case sale.OpConfirm:
			a.Reservation, a.Err = n.confirm(c.ReservationID, c.UserID)
		case sale.OpCancel:
			a.Reservation, a.Err = n.cancel(c.ReservationID, c.UserID)
		}
		return a
	}
	if key == "" {
		a := run()
		return a, a.Err
	}
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	scope := "admin"
	switch c.Op {
	case sale.OpReserve:
		scope = "user " + c.UserID
	case sale.OpConfirm, sale.OpCancel:
		scope = "reservation " + c.ReservationID
		if c.UserID != "" {
			scope = "user " + c.UserID + " " + scope
		}
	}
	id := scope + "\x00" + key
	if k, ok := n.keys[id]; ok && n.bug != keysIgnored {
		n.mu.Lock()
		n.advance(n.clock.Now())
		n.mu.Unlock()
		if k.call != c {
			return sale.Answer{Err: sale.ErrKeyMismatch}, sale.ErrKeyMismatch
		}
		a := k.ans
		a.Replayed = true
		return a, a.Err
	}
	a := run()
	n.keys[id] = keptAnswer{c, a}
	return a, a.Err
}

func (n *naive) initialize(total int64, reset bool, w sale.Window) (sale.Status, error) {
	if total < 0 || total > sale.MaxInventory {
		return sale.Status{}, sale.ErrInvalid
	}
	if err := sale.CheckWindow(w); err != nil {
		return sale.Status{}, fmt.Errorf("%w: %w", sale.ErrInvalid, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock.Now()
	n.advance(now)
	fresh := reset || !n.initialized
	st := n.counts()
	if taken := st.Held + st.Confirmed; !fresh && total < taken {
		return sale.Status{}, &sale.InventoryError{Total: total, Taken: taken}
	}
	opens, closes, err := n.schedule(now, fresh, w)
	if err != nil {
		return sale.Status{}, err
	}
	changed := !opens.Equal(n.opensAt) || !closes.Equal(n.closesAt)
	if reset && n.initialized {
		n.clear()
		changed = !opens.IsZero() || !closes.IsZero()
	}
	if changed {
		if !opens.IsZero() && n.seed == nil {
			n.seed = make([]byte, sale.SeedSize)
			if _, err := io.ReadFull(n.seeds, n.seed); err != nil {
				return sale.Status{}, err
			}
		}
		if !opens.IsZero() && (n.phase == sale.PhaseScheduled || !n.initialized) {
			n.phase = sale.PhaseScheduled
		}
		n.opensAt, n.closesAt = opens, closes
	}
	st = n.counts()
	n.initialized, n.total, n.available = true, total, total-st.Held-st.Confirmed
	n.advance(now)
	for n.available > 0 && len(n.line) > 0 {
		n.available--
		n.release(now)
	}
	return n.counts(), nil
}

// reserve reserves for user; a claim (a caller who proves nobody) only for
// a user new to the sale.
func (n *naive) reserve(user string, claim bool) (sale.ReserveResult, error) {
	n.mu.Lock()
	now := n.clock.Now()
	n.advance(now)
	if !n.initialized {
		n.mu.Unlock()
		return sale.ReserveResult{}, sale.ErrNotInitialized
	}
	if claim && n.known[user] {
		n.mu.Unlock()
		return sale.ReserveResult{}, sale.ErrTokenRequired
	}
	queued := sale.ReserveResult{Queued: true, OpensAt: n.opensAt, DrawCommitment: sale.Commitment(n.seed)}
	switch n.state(user) {
	case sale.Holding, sale.Bought:
		defer n.mu.Unlock()
		return sale.ReserveResult{}, &sale.ConflictError{Err: sale.ErrAlreadyReserved, Reservation: *n.users[user]}
	case sale.Waiting:
		defer n.mu.Unlock()
		return sale.ReserveResult{Position: int64(slices.Index(n.line, user) + 1), AlreadyWaiting: true}, nil
	case sale.Queued:
		defer n.mu.Unlock()
		queued.AlreadyWaiting = true
		return queued, nil
	}
	switch n.phase {
	case sale.PhaseScheduled:
		defer n.mu.Unlock()
		n.pre, n.known[user] = append(n.pre, user), true
		return queued, nil
	case sale.PhaseClosed:
		n.mu.Unlock()
		return sale.ReserveResult{}, sale.ErrSaleClosed
	}
	inStock := n.available > 0
	if n.bug == checkThenAct {
		n.mu.Unlock()
		runtime.Gosched()
		n.mu.Lock()
		// Everything but the stock check is redone, so that the stale
		// check is the only bug.
		now = n.clock.Now()
		n.advance(now)
	}
	defer n.mu.Unlock()
	n.known[user] = true
	if inStock {
		n.available--
		return sale.ReserveResult{Reservation: new(*n.grant(user, now))}, nil
	}
	n.line = append(n.line, user)
	return sale.ReserveResult{Position: int64(len(n.line))}, nil
}

// resolve changes the reservation id names, if it is user's or user is ""
// (the operator's call): another user's is not found.
func (n *naive) resolve(id, user string, change func(h *sale.Reservation, now time.Time) error) (sale.Reservation, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock.Now()
	n.advance(now)
	h := n.holds[id]
	if h == nil || user != "" && h.UserID != user {
		return sale.Reservation{}, sale.ErrReservationNotFound
	}
	if err := change(h, now); err != nil {
		return sale.Reservation{}, err
	}
	return *h, nil
}

func (n *naive) confirm(id, user string) (sale.Reservation, error) {
	if n.bug == confirmIgnoresExpiry {
		n.mu.Lock()
		defer n.mu.Unlock()
		h := n.holds[id]
		if h == nil || user != "" && h.UserID != user {
			return sale.Reservation{}, sale.ErrReservationNotFound
		}
		if h.Status == sale.Held {
			h.Status = sale.Confirmed
		}
		n.advance(n.clock.Now())
		return *h, nil
	}
	return n.resolve(id, user, func(h *sale.Reservation, _ time.Time) error {
		switch h.Status {
		case sale.Held:
			h.Status = sale.Confirmed
		case sale.Expired:
			return &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: *h}
		case sale.Cancelled:
			return &sale.ConflictError{Err: sale.ErrHoldCancelled, Reservation: *h}
		}
		return nil
	})
}

func (n *naive) cancel(id, user string) (sale.Reservation, error) {
	return n.resolve(id, user, func(h *sale.Reservation, now time.Time) error {
		switch h.Status {
		case sale.Held:
			h.Status = sale.Cancelled
			n.release(now)
		case sale.Expired:
			return &sale.ConflictError{Err: sale.ErrHoldExpired, Reservation: *h}
		case sale.Confirmed:
			return &sale.ConflictError{Err: sale.ErrAlreadyConfirmed, Reservation: *h}
		}
		return nil
	})
}

func (n *naive) Reservation(_ context.Context, id string) (sale.Reservation, error) {
	return n.resolve(id, "", func(*sale.Reservation, time.Time) error { return nil })
}

func (n *naive) User(_ context.Context, user string) (sale.UserState, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.advance(n.clock.Now())
	st := sale.UserState{UserID: user, State: n.state(user)}
	if n.initialized {
		st.Phase = n.phase
	}
	switch st.State {
	case sale.Waiting:
		st.Position = int64(slices.Index(n.line, user) + 1)
	case sale.Queued:
		st.OpensAt, st.DrawCommitment = n.opensAt, sale.Commitment(n.seed)
	}
	if h := n.users[user]; h != nil && st.State != sale.Waiting && st.State != sale.Queued {
		st.Reservation = new(*h)
	}
	return st, nil
}

func (n *naive) Leave(_ context.Context, user string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.advance(n.clock.Now())
	if i := slices.Index(n.pre, user); i >= 0 {
		n.pre = slices.Delete(n.pre, i, i+1)
		return nil
	}
	i := slices.Index(n.line, user)
	if i < 0 {
		return fmt.Errorf("leave %s: %w", user, sale.ErrNotWaiting)
	}
	n.line = slices.Delete(n.line, i, i+1)
	return nil
}

func (n *naive) Status(context.Context) (sale.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.advance(n.clock.Now())
	return n.counts(), nil
}

func (n *naive) Expire(context.Context) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.advance(n.clock.Now()), nil
}

func (n *naive) Close() error { return nil }

// Events: the naive store keeps no feed; the checker reads none.
func (n *naive) Events(context.Context, uint64, int) ([]sale.Event, <-chan struct{}, error) {
	return nil, nil, sale.ErrEventsGone
}

func (n *naive) Newest(context.Context) (uint64, error) { return 0, nil }

// SigningKey keeps the first secret given for an id, as sale.Keyring asks;
// the checker never reads it (shopper tokens are the HTTP layer's).
func (n *naive) SigningKey(_ context.Context, id string, fresh []byte) ([]byte, error) {
	if id == "" || len(fresh) == 0 {
		return nil, fmt.Errorf("%w: a signing key needs an id and a secret", sale.ErrInvalid)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.secrets == nil {
		n.secrets = map[string][]byte{}
	}
	if _, ok := n.secrets[id]; !ok {
		n.secrets[id] = slices.Clone(fresh)
	}
	return slices.Clone(n.secrets[id]), nil
}
