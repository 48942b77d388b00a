package model_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
)

// bug is a mistake that flash-sale stores are known to make.
type bug int

const (
	noBug bug = iota
	// promoteLast gives a released unit to the last user in line instead
	// of the first (pretix #2119).
	promoteLast
	// checkThenAct reads the stock under the lock, lets go of it, and takes
	// the unit under the lock again: two buyers can both see the last unit
	// (the "seckill" oversell).
	checkThenAct
	// confirmIgnoresExpiry confirms a hold whose time is up as long as
	// nobody has applied its expiry yet.
	confirmIgnoresExpiry
	// keysIgnored runs a retried keyed call again instead of answering it
	// with its first answer: the double charge idempotency keys prevent.
	keysIgnored
)

// naive is a deliberately simple sale.Store, one mutex around everything,
// that can be built with one bug. Without a bug it must pass the same checks
// as the real store; with one, the checker must catch it.
type naive struct {
	bug   bug
	clock sale.Clock

	// keyMu makes a keyed call's look-up, run and keeping one step (it
	// serializes keyed calls; plain ones take only mu).
	keyMu sync.Mutex
	keys  map[string]keptAnswer

	mu          sync.Mutex
	initialized bool
	total       int64
	available   int64
	holds       map[string]*sale.Reservation
	order       []*sale.Reservation // holds in the order they were made
	users       map[string]*sale.Reservation
	line        []string
	known       map[string]bool   // every user who has held or waited (since the last reset)
	secrets     map[string][]byte // signing keys, by id
}

func newNaive(b bug) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		return &naive{bug: b, clock: cfg.Clock, holds: map[string]*sale.Reservation{}, users: map[string]*sale.Reservation{}, known: map[string]bool{}, keys: map[string]keptAnswer{}}
	}
}

func (n *naive) expire(now time.Time) int {
	c := 0
	for _, h := range n.order {
		if h.Status == sale.Held && !now.Before(h.ExpiresAt) {
			h.Status = sale.Expired
			n.release(now)
			c++
		}
	}
	return c
}

func (n *naive) release(now time.Time) {
	if len(n.line) == 0 {
		n.available++
		return
	}
	i := 0
	if n.bug == promoteLast {
		i = len(n.line) - 1
	}
	u := n.line[i]
	n.line = slices.Delete(n.line, i, i+1)
	n.grant(u, now)
}

func (n *naive) grant(user string, now time.Time) *sale.Reservation {
	h := &sale.Reservation{ID: rand.Text(), UserID: user, Status: sale.Held, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	n.holds[h.ID], n.users[user] = h, h
	n.order = append(n.order, h)
	return h
}

func (n *naive) state(user string) sale.UserStateKind {
	if slices.Contains(n.line, user) {
		return sale.Waiting
	}
	if h := n.users[user]; h != nil {
		switch h.Status {
		case sale.Held:
			return sale.Holding
		case sale.Confirmed:
			return sale.Bought
		}
	}
	return sale.None
}

func (n *naive) counts() sale.Status {
	st := sale.Status{Initialized: n.initialized, Total: n.total, Available: n.available, Waiting: int64(len(n.line))}
	for _, h := range n.order {
		switch h.Status {
		case sale.Held:
			st.Held++
		case sale.Confirmed:
			st.Confirmed++
		}
	}
	return st
}

type keptAnswer struct {
	call sale.Call
	ans  sale.Answer
}

// Do runs a call, with an idempotency key once per scope and key: a retry
// of the same call gets the kept answer (replayed), another call
// ErrKeyMismatch. Keys never expire here: a history is far shorter than a
// key's TTL.
func (n *naive) Do(_ context.Context, c sale.Call, key string) (sale.Answer, error) {
	run := func() sale.Answer {
		var a sale.Answer
		switch c.Op {
		case sale.OpInitialize:
			a.Status, a.Err = n.initialize(c.Total, c.Reset)
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
		n.expire(n.clock.Now())
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

func (n *naive) initialize(total int64, reset bool) (sale.Status, error) {
	if total < 0 || total > sale.MaxInventory {
		return sale.Status{}, sale.ErrInvalid
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock.Now()
	n.expire(now)
	if reset && n.initialized {
		n.holds, n.order, n.users, n.line = map[string]*sale.Reservation{}, nil, map[string]*sale.Reservation{}, nil
		n.known = map[string]bool{}
	}
	st := n.counts()
	if taken := st.Held + st.Confirmed; total < taken {
		return sale.Status{}, &sale.InventoryError{Total: total, Taken: taken}
	}
	n.initialized, n.total, n.available = true, total, total-st.Held-st.Confirmed
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
	n.expire(now)
	if !n.initialized {
		n.mu.Unlock()
		return sale.ReserveResult{}, sale.ErrNotInitialized
	}
	if claim && n.known[user] {
		n.mu.Unlock()
		return sale.ReserveResult{}, sale.ErrTokenRequired
	}
	n.known[user] = true
	switch n.state(user) {
	case sale.Holding, sale.Bought:
		defer n.mu.Unlock()
		return sale.ReserveResult{}, &sale.ConflictError{Err: sale.ErrAlreadyReserved, Reservation: *n.users[user]}
	case sale.Waiting:
		defer n.mu.Unlock()
		return sale.ReserveResult{Position: int64(slices.Index(n.line, user) + 1), AlreadyWaiting: true}, nil
	}
	inStock := n.available > 0
	if n.bug == checkThenAct {
		n.mu.Unlock()
		runtime.Gosched()
		n.mu.Lock()
		// Everything but the stock check is redone, so that the stale
		// check is the only bug.
		now = n.clock.Now()
		n.expire(now)
	}
	defer n.mu.Unlock()
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
	n.expire(now)
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
		n.expire(n.clock.Now())
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
	n.expire(n.clock.Now())
	st := sale.UserState{UserID: user, State: n.state(user)}
	if st.State == sale.Waiting {
		st.Position = int64(slices.Index(n.line, user) + 1)
	}
	if h := n.users[user]; h != nil && st.State != sale.Waiting {
		st.Reservation = new(*h)
	}
	return st, nil
}

func (n *naive) Leave(_ context.Context, user string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.expire(n.clock.Now())
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
	n.expire(n.clock.Now())
	return n.counts(), nil
}

func (n *naive) Expire(context.Context) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.expire(n.clock.Now()), nil
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

// TestNaiveStoreLinearizable shows that the naive store without a bug passes,
// so that what the checker catches below is the bug and nothing else.
func TestNaiveStoreLinearizable(t *testing.T) {
	t.Parallel()
	conformance.Linearizable(t, newNaive(noBug), 50)
}

// TestCheckerCatchesBrokenStore runs histories against the naive store with
// one bug at a time until porcupine rejects one, and fails if it never does.
func TestCheckerCatchesBrokenStore(t *testing.T) {
	t.Parallel()
	const maxSeeds = 300
	for _, tc := range []struct {
		name string
		bug  bug
	}{
		{"promote-last", promoteLast},
		{"check-then-act", checkThenAct},
		{"confirm-ignores-expiry", confirmIgnoresExpiry},
		{"keys-ignored", keysIgnored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= maxSeeds; seed++ {
				res, path := conformance.CheckHistory(t, newNaive(tc.bug), seed)
				switch res {
				case porcupine.Illegal:
					t.Logf("caught at seed %d; timeline in %s", seed, path)
					return
				case porcupine.Unknown:
					t.Fatalf("seed %d: check timed out; timeline in %s", seed, path)
				}
			}
			t.Fatalf("%d histories of a store with bug %s all passed", maxSeeds, tc.name)
		})
	}
}
