package model

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
)

// Workload describes one random concurrent history. Keep it small: the
// checker's work grows steeply with the number of overlapping calls, so many
// short histories find more than a few long ones.
type Workload struct {
	Seed         uint64
	Clients      int           // goroutines calling the store
	OpsPerClient int           // calls each makes
	Users        int           // distinct user ids they share, so calls on one user race
	Inventory    int64         // units at the start
	Ticks        int           // clock moves, spread over the history
	Tick         time.Duration // how far each moves the clock
	// Keys, when not 0, gives a third of the changes an idempotency key
	// from a pool of that many (so keys meet: a retry on another client, a
	// key reused for another call), and has clients retry their last keyed
	// call now and then, as a shopper whose answer was lost does.
	Keys int
	// Windows gives initializes a window now and then (see window): the
	// first may schedule the sale a few seconds ahead, with or without a
	// close, and the later ones move its times, start a scheduled sale
	// anew (with reset), or try what the schedule refuses.
	Windows bool
}

// Record initializes s, then runs w.Clients goroutines of random calls on it
// while one more goroutine (client id w.Clients) moves clock forward and now
// and then changes the inventory, and returns every call as a porcupine
// operation. Call and Return come from one counter, so they order calls by
// real time. The calls' choices depend only on w.Seed; how they interleave
// is up to the scheduler.
func Record(ctx context.Context, s sale.Store, clock *clocktest.Clock, w Workload) []porcupine.Operation {
	r := &recorder{store: s}
	first := Input{Kind: OpInitialize, Total: w.Inventory}
	if w.Windows {
		first.OpensAt, first.ClosesAt = firstWindow(rand.New(rand.NewPCG(w.Seed, uint64(w.Clients)+1)), clock.Now())
	}
	r.call(ctx, w.Clients, first)

	var done atomic.Int64
	total := int64(w.Clients * w.OpsPerClient)
	var wg sync.WaitGroup
	begin := make(chan struct{}) // released at once, so that the clients overlap from the first call
	for c := range w.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(w.Seed, uint64(c)))
			var last Input // the last keyed call, to retry
			<-begin
			for range w.OpsPerClient {
				in := r.pick(rng, w)
				if w.Keys > 0 {
					switch {
					case last.Key != "" && rng.IntN(6) == 0:
						in = last
					case keyable(in.Kind) && rng.IntN(3) == 0:
						in.Key = "k" + strconv.Itoa(rng.IntN(w.Keys))
					}
				}
				if in.Key != "" {
					last = in
				}
				r.call(ctx, c, in)
				done.Add(1)
				runtime.Gosched() // let the others in between calls, even on few cores
			}
		})
	}
	wg.Go(func() {
		<-begin
		rng := rand.New(rand.NewPCG(w.Seed, uint64(w.Clients)))
		for i := 1; i <= w.Ticks; i++ {
			// Spread the moves over the history, so that holds expire while
			// other calls are in flight, not all at the end.
			for done.Load() < int64(i)*total/int64(w.Ticks+1) && done.Load() < total {
				runtime.Gosched()
			}
			call := r.seq.Add(1)
			now := clock.Advance(w.Tick)
			r.add(porcupine.Operation{ClientId: w.Clients, Input: Input{Kind: OpClock, Now: now}, Output: Output{}, Call: call, Return: r.seq.Add(1)})
			if rng.IntN(4) == 0 {
				in := Input{Kind: OpInitialize, Total: rng.Int64N(w.Inventory + 2), Reset: rng.IntN(8) == 0}
				if w.Windows && rng.IntN(2) == 0 {
					// One in three starts a new sale, often a
					// scheduled one, in the middle of the history.
					in.OpensAt, in.ClosesAt = window(rng, now)
					in.Reset = rng.IntN(3) == 0
				}
				if w.Keys > 0 && rng.IntN(2) == 0 {
					in.Key = "admin" + strconv.Itoa(rng.IntN(2)) // meets itself with another total: a mismatch
				}
				r.call(ctx, w.Clients, in)
			}
		}
	})
	close(begin)
	wg.Wait()
	return r.ops
}

// Windows are set in half seconds: the clock moves in whole ones, so a
// draw or a close falls between two moves as often as on one, and a store
// must date what it makes then as of the opening or the close, not as of
// the call that finds it due. A close 3.5 s after a half-second opening
// comes half a second after the draw's holds expire (they last 3 s in the
// checks), with no clock move in between: the first call after it must
// expire them as of their time, promoting the line then, and only then
// close.
const half = 500 * time.Millisecond

// firstWindow is the window of a history's first initialize, at now: none
// (two in five), an opening 1 to 3 s ahead (three in ten), the same with
// a close 2.5 to 5 s after it (one in five), or only a close (one in ten).
func firstWindow(rng *rand.Rand, now time.Time) (opens, closes time.Time) {
	n := rng.IntN(10)
	if n >= 4 && n < 9 {
		opens = now.Add(time.Duration(2+rng.IntN(5)) * half)
	}
	switch {
	case n >= 7 && n < 9:
		closes = opens.Add([]time.Duration{5 * half, 7 * half, 7 * half, 10 * half}[rng.IntN(4)])
	case n == 9:
		closes = now.Add(time.Duration(4+rng.IntN(12)) * half)
	}
	return opens, closes
}

// window is the window of a later initialize, at now: an opening passed,
// now or ahead, and a close now (refused), ahead, or 3.5 s after the
// opening, or none of either. A close is never set at or before the
// opening in the same call: that is a malformed request, which the HTTP
// layer may refuse before the sale decides anything.
func window(rng *rand.Rand, now time.Time) (opens, closes time.Time) {
	if n := rng.IntN(6); n > 0 {
		opens = now.Add([]time.Duration{-2 * half, 0, 2 * half, 3 * half, 5 * half}[n-1])
	}
	switch rng.IntN(5) {
	case 1:
		closes = now
	case 2:
		closes = now.Add(3 * half)
	case 3:
		closes = now.Add(6 * half)
	case 4:
		closes = now.Add(7 * half)
		if opens.After(now) {
			closes = opens.Add(7 * half)
		}
	}
	if !opens.IsZero() && !closes.IsZero() && !closes.After(opens) {
		closes = opens.Add(7 * half)
	}
	return opens, closes
}

type recorder struct {
	store sale.Store
	seq   atomic.Int64

	mu  sync.Mutex
	ops []porcupine.Operation
	ids []string // every reservation id any answer named, newest last
}

func (r *recorder) call(ctx context.Context, client int, in Input) {
	call := r.seq.Add(1)
	out := Apply(ctx, r.store, in)
	ret := r.seq.Add(1)
	r.add(porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
}

func (r *recorder) add(op porcupine.Operation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	if out := op.Output.(Output); out.Reservation != nil && out.Reservation.ID != "" {
		r.ids = append(r.ids, out.Reservation.ID)
	}
}

// knownID returns one of the newest reservation ids, so that calls crowd on
// the holds most likely still in play, or "" if none is known yet.
func (r *recorder) knownID(rng *rand.Rand) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) == 0 {
		return ""
	}
	return r.ids[len(r.ids)-1-rng.IntN(min(len(r.ids), 6))]
}

// pick chooses a random call. Weights favour reserve, confirm and cancel,
// the calls that change the sale.
func (r *recorder) pick(rng *rand.Rand, w Workload) Input {
	user := "u" + strconv.Itoa(rng.IntN(w.Users))
	n := rng.IntN(100)
	var kind Kind
	switch {
	case n < 30:
		// Half the reserves come from callers who prove nobody, as a new
		// user's first reserve does: of several at once for one name,
		// exactly one may make it.
		return Input{Kind: OpReserve, User: user, Claim: rng.IntN(2) == 0}
	case n < 42:
		kind = OpConfirm
	case n < 54:
		kind = OpCancel
	case n < 59:
		kind = OpReservation
	case n < 74:
		return Input{Kind: OpUser, User: user}
	case n < 82:
		return Input{Kind: OpLeave, User: user}
	case n < 90 || n < 92 && !w.Windows:
		return Input{Kind: OpStatus}
	case n < 92:
		return Input{Kind: OpEntrants}
	case n < 95:
		return Input{Kind: OpExpire}
	default:
		// A guessed id: well formed, never issued.
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return Input{Kind: []Kind{OpConfirm, OpCancel, OpReservation}[rng.IntN(3)], ID: base64.RawURLEncoding.EncodeToString(b[:])}
	}
	id := r.knownID(rng)
	if id == "" {
		return Input{Kind: OpReserve, User: user}
	}
	in := Input{Kind: kind, ID: id}
	// A confirm or cancel is made for some user a third of the time (a
	// shopper, often not the hold's own); otherwise by the operator.
	if kind != OpReservation && rng.IntN(3) == 0 {
		in.For = user
	}
	return in
}
