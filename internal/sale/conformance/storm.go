package conformance

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// storm: rounds of hundreds of goroutines reserving, confirming, cancelling,
// leaving, reading and re-initializing a small sale while the clock runs and
// a sweeper expires holds; after each round, a full audit.
func storm(t *testing.T, f Factory) {
	const users, workers, ops, rounds = 150, 300, 10, 10
	h := start(t, f)
	h.init(20, false)
	s := &stormer{h: h, users: users, ids: &idSet{}}
	for round := range rounds {
		if round == rounds/2 {
			h.init(20, true) // a new sale half way: the old ids are gone
			s.ids = &idSet{}
		}
		together(workers+1, func(w int) {
			if w == workers {
				s.sweep(uint64(round), 50)
				return
			}
			rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
			for range ops {
				s.op(t, rng)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		audit(t, h, users, s.ids.all())
	}
}

// resetUnderLoad: new sales start while a crowd reserves; a request that
// meets a reset sees either the old sale or the new one, never a mix.
func resetUnderLoad(t *testing.T, f Factory) {
	const users, workers, ops, rounds, resets = 100, 100, 10, 5, 10
	h := start(t, f)
	h.init(10, false)
	s := &stormer{h: h, users: users, ids: &idSet{}, resets: true}
	for round := range rounds {
		together(workers+2, func(w int) {
			switch w {
			case workers:
				for i := range resets {
					if _, err := sale.Initialize(h.ctx, h.s, int64(5+i), true); err != nil {
						t.Errorf("reset %d: %v", i, err)
					}
					runtime.Gosched()
				}
			case workers + 1:
				s.sweep(uint64(round), 20)
			default:
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for range ops {
					s.op(t, rng)
				}
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		audit(t, h, users, nil) // ids from before a reset are rightly unknown
	}
}

// stormer makes random requests from many goroutines and checks each answer
// on its own; audit checks how they add up.
type stormer struct {
	h      *harness
	users  int
	ids    *idSet
	resets bool // sales may be reset under us: old ids may vanish
}

// sweep moves the clock n times by up to 15 s, expiring holds each time.
func (s *stormer) sweep(seed uint64, n int) {
	rng := rand.New(rand.NewPCG(seed, 1<<40))
	for range n {
		s.h.clock.Advance(time.Duration(rng.IntN(15_000)) * time.Millisecond)
		if _, err := s.h.s.Expire(s.h.ctx); err != nil {
			s.h.t.Errorf("expire: %v", err)
		}
		runtime.Gosched()
	}
}

func (s *stormer) op(t *testing.T, rng *rand.Rand) {
	h := s.h
	user := userName(rng.IntN(s.users))
	var ce *sale.ConflictError
	switch k := rng.IntN(100); {
	case k < 35:
		res, err := sale.Reserve(h.ctx, h.s, user)
		switch {
		case err == nil && res.Reservation != nil:
			r := res.Reservation
			if r.UserID != user || r.Status != sale.Held || !validID(r.ID) || res.Position != 0 {
				t.Errorf("reserve %s: hold %+v", user, *r)
			}
			s.ids.add(r.ID)
		case err == nil && res.Position >= 1:
		case errors.As(err, &ce) && errors.Is(err, sale.ErrAlreadyReserved) && ce.Reservation.UserID == user &&
			(ce.Reservation.Status == sale.Held || ce.Reservation.Status == sale.Confirmed):
		default:
			t.Errorf("reserve %s: %+v, %v", user, res, err)
		}
	case k < 50:
		id, ok := s.ids.pick(rng)
		if !ok {
			return
		}
		r, err := sale.Confirm(h.ctx, h.s, id)
		if !(err == nil && r.Status == sale.Confirmed && r.ID == id ||
			errors.As(err, &ce) && (errors.Is(err, sale.ErrHoldExpired) || errors.Is(err, sale.ErrHoldCancelled)) ||
			s.resets && errors.Is(err, sale.ErrReservationNotFound)) {
			t.Errorf("confirm %s: %+v, %v", id, r, err)
		}
	case k < 65:
		id, ok := s.ids.pick(rng)
		if !ok {
			return
		}
		r, err := sale.Cancel(h.ctx, h.s, id)
		if !(err == nil && r.Status == sale.Cancelled && r.ID == id ||
			errors.As(err, &ce) && (errors.Is(err, sale.ErrHoldExpired) || errors.Is(err, sale.ErrAlreadyConfirmed)) ||
			s.resets && errors.Is(err, sale.ErrReservationNotFound)) {
			t.Errorf("cancel %s: %+v, %v", id, r, err)
		}
	case k < 75:
		if err := h.s.Leave(h.ctx, user); err != nil && !errors.Is(err, sale.ErrNotWaiting) {
			t.Errorf("leave %s: %v", user, err)
		}
	case k < 85:
		if st, err := h.s.Status(h.ctx); err != nil || !st.Balanced() || !st.Initialized {
			t.Errorf("status: %+v, %v", st, err)
		}
	case k < 95:
		u, err := h.s.User(h.ctx, user)
		if err != nil {
			t.Errorf("user %s: %v", user, err)
		} else if msg := checkUser(u, user, time.Time{}); msg != "" {
			t.Errorf("user %s: %s: %s", user, show(u), msg)
		} else if u.State == sale.Holding {
			s.ids.add(u.Reservation.ID) // a promotion: now others may confirm or cancel it
		}
	case k < 99:
		id, ok := s.ids.pick(rng)
		if !ok {
			return
		}
		r, err := h.s.Reservation(h.ctx, id)
		if s.resets && errors.Is(err, sale.ErrReservationNotFound) {
			return
		}
		if err != nil || r.ID != id || !knownStatus(r.Status) {
			t.Errorf("reservation %s: %+v, %v", id, r, err)
		}
	default:
		total := int64(15 + rng.IntN(16))
		if _, err := sale.Initialize(h.ctx, h.s, total, false); err != nil && !errors.Is(err, sale.ErrInventoryConflict) {
			t.Errorf("initialize %d: %v", total, err)
		}
	}
}

// checkUser checks one user's answer on its own and says what is wrong with
// it, or "". A hold must not be expired at now, unless now is zero.
func checkUser(u sale.UserState, user string, now time.Time) string {
	if u.UserID != user {
		return "about another user"
	}
	switch u.State {
	case sale.None:
		if u.Position != 0 {
			return "a position without waiting"
		}
		if u.Reservation != nil && (u.Reservation.Status == sale.Held || u.Reservation.Status == sale.Confirmed) {
			return "none, yet with a live reservation"
		}
	case sale.Waiting:
		if u.Position < 1 {
			return "waiting without a position"
		}
	case sale.Holding, sale.Bought:
		want := sale.Held
		if u.State == sale.Bought {
			want = sale.Confirmed
		}
		if u.Position != 0 || u.Reservation == nil || u.Reservation.Status != want || u.Reservation.UserID != user {
			return "the reservation does not match the state"
		}
		if u.State == sale.Holding && !now.IsZero() && !u.Reservation.ExpiresAt.After(now) {
			return "holding an expired hold"
		}
	default:
		return "unknown state"
	}
	return ""
}

func knownStatus(s sale.HoldStatus) bool {
	return s == sale.Held || s == sale.Confirmed || s == sale.Expired || s == sale.Cancelled
}

// audit checks, with nobody else calling, that the answers about users
// userName(0..users-1) (everyone in the sale) add up to the status, that the
// line they describe is the line the events describe, and, if ids lists every
// reservation made in the current sale, that the live ones are exactly the
// users' current ones.
func audit(t *testing.T, h *harness, users int, ids []string) {
	t.Helper()
	st := h.status()
	now := h.now()
	var holding, bought int64
	line := make(map[int64]string)
	live := make(map[string]string) // reservation id → user, for held and confirmed
	for i := range users {
		name := userName(i)
		u := h.user(name)
		if msg := checkUser(u, name, now); msg != "" {
			t.Fatalf("audit: user %s: %s: %s", name, show(u), msg)
		}
		switch u.State {
		case sale.Holding:
			holding++
			live[u.Reservation.ID] = name
		case sale.Bought:
			bought++
			live[u.Reservation.ID] = name
		case sale.Waiting:
			if other, dup := line[u.Position]; dup {
				t.Fatalf("audit: %s and %s both at position %d", other, name, u.Position)
			}
			line[u.Position] = name
		}
	}
	if holding != st.Held || bought != st.Confirmed || int64(len(line)) != st.Waiting {
		t.Fatalf("audit: users show %d holding, %d bought, %d waiting; status %+v", holding, bought, len(line), st)
	}
	replayed, err := replay(h.events())
	if err != nil {
		t.Fatalf("audit: events: %v", err)
	}
	if int64(len(replayed)) != st.Waiting {
		t.Fatalf("audit: events show a line of %d, status %d", len(replayed), st.Waiting)
	}
	for p := int64(1); p <= st.Waiting; p++ {
		if line[p] != replayed[p-1] {
			t.Fatalf("audit: position %d is %q, the events say %q", p, line[p], replayed[p-1])
		}
	}
	if ids == nil {
		return
	}
	for _, e := range h.events() {
		if e.Kind == sale.EventPromoted {
			ids = append(ids, e.ReservationID)
		}
	}
	seen := make(map[string]bool)
	var held, confirmed int64
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, err := h.s.Reservation(h.ctx, id)
		if errors.Is(err, sale.ErrReservationNotFound) {
			continue // promoted in an earlier sale
		}
		if err != nil {
			t.Fatalf("audit: reservation %s: %v", id, err)
		}
		switch r.Status {
		case sale.Held, sale.Confirmed:
			if live[id] != r.UserID {
				t.Fatalf("audit: reservation %+v is live, but its user does not show it", r)
			}
			if r.Status == sale.Held {
				held++
			} else {
				confirmed++
			}
		}
	}
	if held != st.Held || confirmed != st.Confirmed {
		t.Fatalf("audit: reservations show %d held, %d confirmed; status %+v", held, confirmed, st)
	}
}

// idSet is the reservation ids seen so far, shared by goroutines.
type idSet struct {
	mu  sync.Mutex
	ids []string
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
}

func (s *idSet) pick(rng *rand.Rand) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return "", false
	}
	return s.ids[rng.IntN(len(s.ids))], true
}

func (s *idSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}
