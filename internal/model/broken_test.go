package model_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
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
	// drawInArrivalOrder serves the pre-queue first come, first served:
	// the race to the opening second that the draw is there to end.
	drawInArrivalOrder
	// drawDatedLate dates the draw's holds from the call that finds the
	// opening passed, not from the opening: whoever was drawn first holds
	// longer the later someone happens to call.
	drawDatedLate
	// offersAfterClose keeps the line at the close and goes on handing
	// released units to it: waiting-list offers after the sale has ended
	// (pretix #681, #1031).
	offersAfterClose
)

// naive is a deliberately simple sale.Store, one mutex around everything,
// that can be built with one bug. Without a bug it must pass the same checks
// as the real store; with one, the checker must catch it.
type naive struct {
	bug   bug
	clock sale.Clock
	seeds io.Reader

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
	known       map[string]bool   // every user who has held, waited or queued (since the last reset)
	secrets     map[string][]byte // signing keys, by id

	// The window: phase is open for a sale with none.
	phase             sale.Phase
	opensAt, closesAt time.Time
	seed              []byte
	drawn             bool
	pre               []string // the pre-queue, in arrival order
	entrants          []string // the draw's, in drawn order
}

func newNaive(b bug) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		seeds := cfg.Seeds
		if seeds == nil {
			seeds = rand.Reader
		}
		n := &naive{bug: b, clock: cfg.Clock, seeds: seeds, keys: map[string]keptAnswer{}}
		n.clear()
		return n
	}
}

// clear forgets the sale, for a reset.
func (n *naive) clear() {
	n.initialized, n.total, n.available = false, 0, 0
	n.holds, n.order, n.users, n.line = map[string]*sale.Reservation{}, nil, map[string]*sale.Reservation{}, nil
	n.known = map[string]bool{}
	n.phase, n.opensAt, n.closesAt, n.seed, n.drawn, n.pre, n.entrants = sale.PhaseOpen, time.Time{}, time.Time{}, nil, false, nil, nil
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
	if slices.Contains(n.pre, user) {
		return sale.Queued
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
	if n.initialized {
		st.Phase, st.OpensAt, st.ClosesAt, st.Prequeued = n.phase, n.opensAt, n.closesAt, int64(len(n.pre))
		if n.seed != nil {
			st.DrawCommitment = sale.Commitment(n.seed)
			if n.drawn {
				st.DrawSeed = hex.EncodeToString(n.seed)
			}
		}
	}
	return st
}

type keptAnswer struct {
	call sale.Call
	ans  sale.Answer
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
		{"draw-in-arrival-order", drawInArrivalOrder},
		{"draw-dated-late", drawDatedLate},
		{"offers-after-close", offersAfterClose},
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
