package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// The crash tests run the real binary on a SQLite file, kill it with
// SIGKILL and start it again on the same file: whatever a client was told
// before the kill must still be true after it (issue 9, "Durability").

var crashSeed = flag.Uint64("crash.seed", 0, "run TestCrashLosesNothingAcknowledged once, with this seed (0: four random seeds)")

// The crash test's sale: few units for many users, so that at the kill
// there are holds, purchases, cancelled holds and a line, all changing; a
// hold lasts far longer than the test, so that nothing expires by itself
// and every change is one a client asked for.
const (
	crashInventory  = 20
	crashWorkers    = 16
	crashUsersEach  = 6 // users per worker: 96 in all
	crashHoldTTL    = 5 * time.Minute
	crashMinAnswers = 100  // the kill comes after this many answers at the earliest,
	crashMaxAnswers = 1600 // this many at the latest,
	crashMaxLoad    = 3 * time.Second
	crashMaxSteps   = 5000 // requests per worker, a bound that is never the limit
)

// TestCrashLosesNothingAcknowledged drives concurrent reserves, confirms,
// cancels, leaves and reads against the server, kills it with SIGKILL after
// a random number of answers, restarts it on the same file and checks that
// every answer given before the kill still holds.
//
// Each user's requests are made one at a time by one worker, so a user has
// at most one request without an answer at the kill: the checks know
// exactly what each user was told and what may have happened besides.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	bin := buildFlashsale(t)
	seeds := []uint64{*crashSeed}
	if *crashSeed == 0 {
		seeds = []uint64{1 + rand.Uint64N(1e9), 1 + rand.Uint64N(1e9), 1 + rand.Uint64N(1e9), 1 + rand.Uint64N(1e9)}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					// The seed fixes each worker's requests and the kill point;
					// the interleaving is the scheduler's.
					t.Logf("run this seed again: go test -race -count=1 -run 'TestCrashLosesNothingAcknowledged' ./cmd/flashsale/ -crash.seed=%d", seed)
				}
			})
			crashAndCheck(t, bin, seed)
		})
	}
}

func crashAndCheck(t *testing.T, bin string, seed uint64) {
	args := []string{"--store", "sqlite", "--db", filepath.Join(t.TempDir(), "sale.db"), "--addr", "127.0.0.1:0",
		"--admin-token", "crash", "--hold-ttl", crashHoldTTL.String(), "--inventory", fmt.Sprint(crashInventory), "--rate-limit", "0"}
	rng := rand.New(rand.NewPCG(seed, 0))
	killAt := crashMinAnswers + rng.IntN(crashMaxAnswers-crashMinAnswers+1)

	h := loadUntilKilled(t, startChild(t, bin, args...), seed, killAt)
	srv := startChild(t, bin, args...) // the same command line, as an operator would
	c := newClient(t, srv.url)
	o := observe(t, c, h)
	t.Logf("%s; after restart: available %d, held %d, confirmed %d, waiting %d",
		h.summary(), o.status.Available, o.status.Held, o.status.Confirmed, o.status.WaitlistSize)

	checkHolds(t, h, o)
	checkUsers(t, h, o)
	checkLine(t, h, o)
	checkBalance(t, o)
	checkStillServes(t, c)
}

// step is one request of the load and what its answer said.
type step struct {
	op         string
	user       string
	hold       string // the reservation a confirm, cancel or reservation read names
	sent, recv time.Time
	acked      bool   // an expected answer came; otherwise the request's effect is unknown
	code       int    // the answer's status, if any
	failure    string // why there is no answer (the kill, usually)
	wrong      string // an answer the API does not allow here
	state      *userFact
	holds      []holdFact
}

// The requests of the load.
const (
	opReserve     = "reserve"
	opConfirm     = "confirm"
	opCancel      = "cancel"
	opLeave       = "leave"
	opUser        = "read user"
	opReservation = "read reservation"
	opStatus      = "read status"
)

// userFact is the user's state right after an answer, as the answer says it.
type userFact struct {
	state    generated.UserStateState
	hold     string // held, confirmed: the reservation; "" while not known
	position int64  // waiting
}

// holdFact is a reservation as an answer shows it.
type holdFact struct {
	id, user         string
	status           generated.ReservationStatus
	created, expires time.Time // zero where the answer does not say
}

// history is every request of the load by user, each user's in the order
// made (one at a time). Every user of the pool has an entry.
type history map[string][]step

// loader runs the load against one server.
type loader struct {
	c       *generated.ClientWithResponses
	killAt  int64
	answers atomic.Int64
	kill    chan struct{} // closed at the killAt-th answer
}

// loadUntilKilled drives the load until the kill point (or crashMaxLoad),
// kills srv with SIGKILL while the load goes on, and returns what every
// user asked and was told.
func loadUntilKilled(t *testing.T, srv *child, seed uint64, killAt int) history {
	t.Helper()
	l := &loader{c: newClient(t, srv.url), killAt: int64(killAt), kill: make(chan struct{})}
	parts := make([]history, crashWorkers)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		users := make([]string, crashUsersEach)
		for i := range users {
			users[i] = fmt.Sprintf("w%02d-u%d", w, i)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(w)+1))
		wg.Go(func() { parts[w] = l.work(rng, users) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	select {
	case <-l.kill:
	case <-time.After(crashMaxLoad):
	case <-finished:
		t.Log("the load ended before the kill point: the kill comes at rest")
	}
	srv.kill(t)
	killed := l.answers.Load()
	select {
	case <-finished: // each worker stops at its first request without an answer
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not stop within 30s of the kill")
	}

	h := history{}
	for _, part := range parts {
		for u, steps := range part {
			h[u] = steps
			for _, s := range steps {
				if s.wrong != "" {
					t.Errorf("before the kill, %s", s.wrong)
				}
			}
		}
	}
	t.Logf("killed after %d answers (kill point %d)", killed, killAt)
	return h
}

// work makes random requests for users, one at a time, each chosen from
// what the user was last told, until one gets no answer.
func (l *loader) work(rng *rand.Rand, users []string) history {
	h := history{}
	for _, u := range users {
		h[u] = nil
	}
	for range crashMaxSteps {
		u := users[rng.IntN(len(users))]
		s := l.step(rng, u, lastFact(h[u]))
		h[u] = append(h[u], s)
		if !s.acked {
			return h
		}
		if l.answers.Add(1) == l.killAt {
			close(l.kill)
		}
	}
	return h
}

// lastFact is the user's state as the last answer that said it.
func lastFact(steps []step) userFact {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].acked && steps[i].state != nil {
			return *steps[i].state
		}
	}
	return userFact{state: generated.UserStateStateNone}
}

// crashMix is how often a user in each state makes each request. Cancels
// outnumber confirms four to one, so that units keep coming back to the
// line instead of all being sold in the first second.
var crashMix = map[generated.UserStateState][]struct {
	op     string
	weight int
}{
	generated.UserStateStateNone:      {{opReserve, 85}, {opUser, 10}, {opStatus, 5}},
	generated.UserStateStateWaiting:   {{opUser, 40}, {opLeave, 25}, {opReserve, 20}, {opStatus, 15}},
	generated.UserStateStateHeld:      {{opCancel, 40}, {opConfirm, 10}, {opUser, 20}, {opReservation, 15}, {opReserve, 15}},
	generated.UserStateStateConfirmed: {{opUser, 50}, {opReservation, 25}, {opReserve, 25}},
}

func chooseOp(rng *rand.Rand, f userFact) string {
	if f.state == generated.UserStateStateHeld && f.hold == "" {
		return opUser // promoted, as a refused leave said: learn the hold
	}
	mix := crashMix[f.state]
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	n := rng.IntN(total)
	for _, m := range mix {
		if n -= m.weight; n < 0 {
			return m.op
		}
	}
	panic("unreachable")
}

// step makes one request for u, who was last told f.
func (l *loader) step(rng *rand.Rand, u string, f userFact) step {
	s := step{op: chooseOp(rng, f), user: u}
	switch s.op {
	case opReserve:
		l.reserve(&s)
	case opConfirm, opCancel:
		s.hold = f.hold
		l.settle(&s)
	case opLeave:
		l.leave(&s)
	case opUser:
		l.readUser(&s)
	case opReservation:
		s.hold = f.hold
		l.readReservation(&s)
	case opStatus:
		l.readStatus(&s)
	}
	return s
}

// send makes one request for s, timing it. Without an answer (the server
// was killed) s stays unacknowledged: what the request did is unknown.
func send[R interface{ StatusCode() int }](s *step, do func(context.Context) (R, error)) (R, bool) {
	s.sent = time.Now()
	r, err := do(context.Background())
	if err != nil {
		s.failure = err.Error()
		return r, false
	}
	s.recv, s.code = time.Now(), r.StatusCode()
	return r, true
}

// answered marks s acknowledged, or, when the answer is not one the API
// gives here, records it as wrong and leaves s unknown.
func (s *step) answered(ok bool, body []byte) {
	if ok {
		s.acked = true
		return
	}
	s.state, s.holds = nil, nil
	s.wrong = fmt.Sprintf("%s %s %s: unexpected answer %d %s", s.user, s.op, s.hold, s.code, body)
}

func (l *loader) reserve(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.ReserveResponse, error) {
		return l.c.ReserveWithResponse(ctx, generated.ReserveRequest{UserId: s.user})
	})
	if !ok {
		return
	}
	switch {
	case r.JSON201 != nil:
		h := r.JSON201
		s.state = &userFact{state: generated.UserStateStateHeld, hold: h.ReservationId}
		s.holds = []holdFact{{id: h.ReservationId, user: h.UserId, status: generated.ReservationStatusHeld, expires: h.ExpiresAt}}
		s.answered(h.UserId == s.user, r.Body)
	case r.JSON202 != nil:
		s.state = &userFact{state: generated.UserStateStateWaiting, position: r.JSON202.WaitlistPosition}
		s.answered(r.JSON202.UserId == s.user, r.Body)
	case isProblem(r.ApplicationproblemJSON409, "already-reserved"):
		p := r.ApplicationproblemJSON409
		if p.ReservationId == nil || p.ReservationStatus == nil {
			s.answered(false, r.Body)
			return
		}
		s.state = &userFact{state: generated.UserStateState(*p.ReservationStatus), hold: *p.ReservationId}
		s.holds = []holdFact{{id: *p.ReservationId, user: s.user, status: *p.ReservationStatus}}
		s.answered(s.state.state == generated.UserStateStateHeld || s.state.state == generated.UserStateStateConfirmed, r.Body)
	default:
		s.answered(false, r.Body)
	}
}

// settle confirms or cancels the hold s names, which the user was told is
// theirs and held.
func (l *loader) settle(s *step) {
	var (
		res  *generated.Reservation
		raw  []byte
		ok   bool
		want = generated.ReservationStatusConfirmed
		next = userFact{state: generated.UserStateStateConfirmed, hold: s.hold}
	)
	if s.op == opConfirm {
		var r *generated.ConfirmReservationResponse
		if r, ok = send(s, func(ctx context.Context) (*generated.ConfirmReservationResponse, error) {
			return l.c.ConfirmReservationWithResponse(ctx, s.hold)
		}); ok {
			res, raw = r.JSON200, r.Body
		}
	} else {
		want, next = generated.ReservationStatusCancelled, userFact{state: generated.UserStateStateNone}
		var r *generated.CancelReservationResponse
		if r, ok = send(s, func(ctx context.Context) (*generated.CancelReservationResponse, error) {
			return l.c.CancelReservationWithResponse(ctx, s.hold)
		}); ok {
			res, raw = r.JSON200, r.Body
		}
	}
	if !ok {
		return
	}
	if res == nil {
		s.answered(false, raw)
		return
	}
	s.holds = []holdFact{reservationFact(*res)}
	s.state = &next
	s.answered(res.ReservationId == s.hold && res.UserId == s.user && res.Status == want, raw)
}

func (l *loader) leave(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.LeaveWaitlistResponse, error) {
		return l.c.LeaveWaitlistWithResponse(ctx, s.user)
	})
	if !ok {
		return
	}
	switch {
	case r.StatusCode() == http.StatusNoContent:
		s.state = &userFact{state: generated.UserStateStateNone}
		s.answered(true, nil)
	case isProblem(r.ApplicationproblemJSON404, "not-waiting"):
		// The user was told they wait; only a promotion takes them out of
		// the line without a request of theirs.
		s.state = &userFact{state: generated.UserStateStateHeld}
		s.answered(true, nil)
	default:
		s.answered(false, r.Body)
	}
}

func (l *loader) readUser(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.GetUserResponse, error) {
		return l.c.GetUserWithResponse(ctx, s.user)
	})
	if !ok {
		return
	}
	if r.JSON200 == nil {
		s.answered(false, r.Body)
		return
	}
	f, err := userFactOf(*r.JSON200)
	if err != nil || r.JSON200.UserId != s.user {
		s.answered(false, r.Body)
		return
	}
	s.state = &f
	if res := r.JSON200.Reservation; res != nil {
		s.holds = []holdFact{reservationFact(*res)}
	}
	s.answered(true, nil)
}

func (l *loader) readReservation(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.GetReservationResponse, error) {
		return l.c.GetReservationWithResponse(ctx, s.hold)
	})
	if !ok {
		return
	}
	if r.JSON200 == nil {
		s.answered(false, r.Body)
		return
	}
	res := *r.JSON200
	s.holds = []holdFact{reservationFact(res)}
	// A user has one live hold at most, so a live hold is the user's state.
	if res.Status == generated.ReservationStatusHeld || res.Status == generated.ReservationStatusConfirmed {
		s.state = &userFact{state: generated.UserStateState(res.Status), hold: res.ReservationId}
	}
	s.answered(res.ReservationId == s.hold && res.UserId == s.user, r.Body)
}

// readStatus checks the invariants of one snapshot while the load runs.
func (l *loader) readStatus(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.GetStatusResponse, error) {
		return l.c.GetStatusWithResponse(ctx)
	})
	if !ok {
		return
	}
	s.answered(r.JSON200 != nil && balanceError(*r.JSON200) == nil, r.Body)
}

func userFactOf(u generated.UserState) (userFact, error) {
	f := userFact{state: u.State}
	switch u.State {
	case generated.UserStateStateNone:
	case generated.UserStateStateWaiting:
		if u.WaitlistPosition == nil {
			return f, fmt.Errorf("waiting without a position")
		}
		f.position = *u.WaitlistPosition
	case generated.UserStateStateHeld, generated.UserStateStateConfirmed:
		if u.Reservation == nil {
			return f, fmt.Errorf("%s without a reservation", u.State)
		}
		f.hold = u.Reservation.ReservationId
	default:
		return f, fmt.Errorf("state %q", u.State)
	}
	return f, nil
}

func reservationFact(r generated.Reservation) holdFact {
	return holdFact{id: r.ReservationId, user: r.UserId, status: r.Status, created: r.CreatedAt, expires: r.ExpiresAt}
}

func isProblem(p *generated.Problem, kind string) bool {
	return p != nil && p.Type == "/problems/"+kind
}

// observed is what the restarted server says, read with no load running.
type observed struct {
	status generated.Status
	users  map[string]generated.UserState
	holds  map[string]generated.Reservation // every reservation the load or these reads named; missing: 404
}

func observe(t *testing.T, c *generated.ClientWithResponses, h history) observed {
	t.Helper()
	o := observed{status: mustStatus(t, c), users: map[string]generated.UserState{}, holds: map[string]generated.Reservation{}}
	ids := map[string]bool{}
	for u, steps := range h {
		o.users[u] = mustUser(t, c, u)
		if r := o.users[u].Reservation; r != nil {
			ids[r.ReservationId] = true
		}
		for _, s := range steps {
			for _, f := range s.holds {
				ids[f.id] = true
			}
		}
	}
	for id := range ids {
		if r, ok := readReservation(t, c, id); ok {
			o.holds[id] = r
		}
	}
	return o
}

// checkHolds: every reservation an answer showed is still there, with the
// same user and times, in a status its history allows: the last one an
// answer showed, or the one a request without an answer asked for.
func checkHolds(t *testing.T, h history, o observed) {
	t.Helper()
	for _, u := range h.users() {
		steps := h[u]
		last := map[string]holdFact{}
		for _, s := range steps {
			if !s.acked {
				continue
			}
			for _, f := range s.holds {
				if err := sameHold(f, s, o.holds); err != nil {
					t.Errorf("%s: %v, though it was answered before the kill:\n%s", u, err, describe(steps))
					continue
				}
				last[f.id] = f
			}
		}
		for id, f := range last {
			got, ok := o.holds[id]
			if !ok {
				continue // reported above
			}
			allowed := []generated.ReservationStatus{f.status}
			if x := unanswered(steps); x != nil && x.hold == id {
				switch x.op {
				case opConfirm:
					allowed = append(allowed, generated.ReservationStatusConfirmed)
				case opCancel:
					allowed = append(allowed, generated.ReservationStatusCancelled)
				}
			}
			if !slices.Contains(allowed, got.Status) {
				t.Errorf("%s: reservation %s is %s after the restart, want one of %v:\n%s", u, id, got.Status, allowed, describe(steps))
			}
		}
	}
}

// sameHold compares what answer s showed of a reservation with what the
// restarted server has.
func sameHold(f holdFact, s step, holds map[string]generated.Reservation) error {
	got, ok := holds[f.id]
	switch {
	case !ok:
		return fmt.Errorf("reservation %s (from %s) is gone", f.id, s.op)
	case got.UserId != f.user:
		return fmt.Errorf("reservation %s is %s's, not %s's", f.id, got.UserId, f.user)
	case !f.expires.IsZero() && !got.ExpiresAt.Equal(f.expires):
		return fmt.Errorf("reservation %s expires at %v, not %v", f.id, got.ExpiresAt, f.expires)
	case !f.created.IsZero() && !got.CreatedAt.Equal(f.created):
		return fmt.Errorf("reservation %s was created at %v, not %v", f.id, got.CreatedAt, f.created)
	case !got.CreatedAt.Add(crashHoldTTL).Equal(got.ExpiresAt):
		return fmt.Errorf("reservation %s was created at %v and expires at %v: not the hold TTL apart", f.id, got.CreatedAt, got.ExpiresAt)
	case got.Status == generated.ReservationStatusExpired || f.status == generated.ReservationStatusExpired:
		return fmt.Errorf("reservation %s expired, with a TTL of %v", f.id, crashHoldTTL)
	}
	// A 201's hold was made while its request was in flight.
	if s.op == opReserve && s.code == http.StatusCreated &&
		(got.CreatedAt.Before(sale.Instant(s.sent)) || got.CreatedAt.After(s.recv)) {
		return fmt.Errorf("reservation %s was created at %v, outside its request (%v to %v)", f.id, got.CreatedAt, s.sent, s.recv)
	}
	return nil
}

// checkUsers: each user is in a state that the last answer they got
// allows, given what may have happened since without them (a promotion)
// and what their request without an answer may have done.
func checkUsers(t *testing.T, h history, o observed) {
	t.Helper()
	for _, u := range h.users() {
		steps := h[u]
		got := o.users[u]
		allowed := allowedAfter(lastFact(steps), unanswered(steps))
		if !slices.ContainsFunc(allowed, func(e userFact) bool { return e.matches(got) }) {
			t.Errorf("%s is %s after the restart; the answers before the kill allow only %v:\n%s", u, describeUser(got), allowed, describe(steps))
		}
	}
}

// allowedAfter lists the states a user last told f may be in, where x is
// their request without an answer, if any. A hold of "" is any hold.
func allowedAfter(f userFact, x *step) []userFact {
	none := userFact{state: generated.UserStateStateNone}
	var out []userFact
	switch f.state {
	case generated.UserStateStateNone:
		out = []userFact{none}
		if x != nil && x.op == opReserve {
			out = append(out, userFact{state: generated.UserStateStateWaiting}, userFact{state: generated.UserStateStateHeld})
		}
	case generated.UserStateStateWaiting:
		// Still in line, or promoted to a hold they were not told of yet.
		out = []userFact{{state: generated.UserStateStateWaiting}, {state: generated.UserStateStateHeld}}
		if x != nil && x.op == opLeave {
			out = append(out, none)
		}
	case generated.UserStateStateHeld:
		out = []userFact{{state: generated.UserStateStateHeld, hold: f.hold}}
		if x != nil && x.op == opConfirm {
			out = append(out, userFact{state: generated.UserStateStateConfirmed, hold: f.hold})
		}
		if x != nil && x.op == opCancel {
			out = append(out, none)
		}
	case generated.UserStateStateConfirmed:
		out = []userFact{f}
	}
	return out
}

func (e userFact) matches(u generated.UserState) bool {
	if u.State != e.state {
		return false
	}
	return e.hold == "" || u.Reservation != nil && u.Reservation.ReservationId == e.hold
}

func (e userFact) String() string {
	if e.hold != "" {
		return string(e.state) + " " + e.hold
	}
	return string(e.state)
}

// checkLine: the line is numbered 1..N without gaps, N the waitlist size,
// and of two users still in it, one whose 202 came before the other's
// request to join was even sent is ahead.
func checkLine(t *testing.T, h history, o observed) {
	t.Helper()
	type place struct {
		user string
		pos  int64
		join *step // the request that put the user in line, if known
	}
	var line []place
	for _, u := range h.users() {
		if got := o.users[u]; got.State == generated.UserStateStateWaiting {
			if got.WaitlistPosition == nil {
				t.Errorf("%s is waiting without a position", u)
				continue
			}
			line = append(line, place{u, *got.WaitlistPosition, joinOf(h[u])})
		}
	}
	sort.Slice(line, func(i, j int) bool { return line[i].pos < line[j].pos })
	if int64(len(line)) != o.status.WaitlistSize {
		t.Errorf("%d users wait, but the waitlist size is %d", len(line), o.status.WaitlistSize)
	}
	for i, p := range line {
		if p.pos != int64(i)+1 {
			t.Errorf("the line's positions are not 1..%d: %s is at %d where %d is due", len(line), p.user, p.pos, i+1)
			break
		}
	}
	for i, a := range line {
		for _, b := range line[i+1:] { // a.pos < b.pos
			if a.join != nil && b.join != nil && b.join.recv.Before(a.join.sent) {
				t.Errorf("%s (joined %s–%s) is at %d, behind %s (joined %s–%s) at %d, who was answered before %s asked",
					a.user, clock(a.join.sent), clock(a.join.recv), a.pos, b.user, clock(b.join.sent), clock(b.join.recv), b.pos, a.user)
			}
		}
	}
}

// joinOf finds the reserve whose 202 put a waiting user in line: the first
// of the answers since they last were told anything but "waiting". Only
// their own request puts a user in line, and only their own request (a
// leave, or a cancel after a promotion) takes them out and lets them join
// again, so every "waiting" of that run is the same place.
func joinOf(steps []step) *step {
	var join *step
	for i := len(steps) - 1; i >= 0; i-- {
		s := &steps[i]
		if !s.acked || s.state == nil {
			continue
		}
		if s.state.state != generated.UserStateStateWaiting {
			break
		}
		join = s
	}
	if join == nil || join.op != opReserve || join.code != http.StatusAccepted {
		return nil
	}
	return join
}

// checkBalance: the numbers add up, and they agree with the users: every
// unit held or sold is some user's, once.
func checkBalance(t *testing.T, o observed) {
	t.Helper()
	if err := balanceError(o.status); err != nil {
		t.Error(err)
	}
	if o.status.TotalInventory != crashInventory {
		t.Errorf("total inventory %d after the restart, want %d", o.status.TotalInventory, crashInventory)
	}
	var held, confirmed int64
	for u, us := range o.users {
		switch us.State {
		case generated.UserStateStateHeld:
			held++
		case generated.UserStateStateConfirmed:
			confirmed++
		default:
			continue
		}
		if r := us.Reservation; r == nil {
			t.Errorf("%s is %s without a reservation", u, us.State)
		} else if got := o.holds[r.ReservationId]; got.Status != generated.ReservationStatus(us.State) || got.UserId != u {
			t.Errorf("%s is %s, but their reservation reads %+v", u, describeUser(us), got)
		}
	}
	if held != o.status.Held || confirmed != o.status.Confirmed {
		t.Errorf("users show %d held and %d confirmed; the status says %d and %d", held, confirmed, o.status.Held, o.status.Confirmed)
	}
	// No user has two live holds: each live one is the one the user shows.
	for id, r := range o.holds {
		if r.Status != generated.ReservationStatusHeld && r.Status != generated.ReservationStatusConfirmed {
			continue
		}
		if us := o.users[r.UserId]; us.Reservation == nil || us.Reservation.ReservationId != id {
			t.Errorf("reservation %s of %s is %s, but the user is %s", id, r.UserId, r.Status, describeUser(us))
		}
	}
}

// balanceError checks the invariants of one status snapshot.
func balanceError(s generated.Status) error {
	switch {
	case !s.Initialized:
		return fmt.Errorf("status %+v: not initialized", s)
	case s.Available+s.Held+s.Confirmed != s.TotalInventory:
		return fmt.Errorf("status %+v: available + held + confirmed is not the total", s)
	case s.Available > 0 && s.WaitlistSize > 0:
		return fmt.Errorf("status %+v: units in stock while users wait", s)
	}
	return nil
}

// checkStillServes: the restarted server takes new business.
func checkStillServes(t *testing.T, c *generated.ClientWithResponses) {
	t.Helper()
	const u = "after-the-restart"
	r := mustReserve(t, c, u)
	switch {
	case r.JSON201 != nil:
		cr, err := c.ConfirmReservationWithResponse(context.Background(), r.JSON201.ReservationId)
		if err != nil {
			t.Fatalf("confirm a hold made after the restart: %v", err)
		}
		if cr.JSON200 == nil || cr.JSON200.Status != generated.ReservationStatusConfirmed {
			t.Errorf("confirm a hold made after the restart: %d %s", cr.StatusCode(), cr.Body)
		}
	case r.JSON202 != nil:
		if got := mustUser(t, c, u); got.State != generated.UserStateStateWaiting {
			t.Errorf("%s was told to wait, but is %s", u, describeUser(got))
		}
	default:
		t.Errorf("reserve after the restart: %d %s", r.StatusCode(), r.Body)
	}
}

// unanswered is the user's request that got no answer, if any: always the
// last, since each user's worker stops at it.
func unanswered(steps []step) *step {
	if n := len(steps); n > 0 && !steps[n-1].acked {
		return &steps[n-1]
	}
	return nil
}

func (h history) users() []string {
	us := make([]string, 0, len(h))
	for u := range h {
		us = append(us, u)
	}
	sort.Strings(us)
	return us
}

// summary counts the answers by request and status, so that the log shows
// what a run did test.
func (h history) summary() string {
	counts := map[string]int{}
	unknown := 0
	for _, steps := range h {
		for _, s := range steps {
			if s.acked {
				counts[fmt.Sprintf("%s %d", s.op, s.code)]++
			} else {
				unknown++
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s ×%d, ", k, counts[k])
	}
	fmt.Fprintf(&b, "no answer ×%d", unknown)
	return b.String()
}

// describe lists a user's last requests for a failure message.
func describe(steps []step) string {
	var b strings.Builder
	for _, s := range steps[max(0, len(steps)-8):] {
		fmt.Fprintf(&b, "\t%s %s %s", clock(s.sent), s.op, s.hold)
		switch {
		case s.acked:
			fmt.Fprintf(&b, " → %d at %s", s.code, clock(s.recv))
			if s.state != nil {
				fmt.Fprintf(&b, ", %s", s.state)
			}
		case s.wrong != "":
			fmt.Fprintf(&b, " → %s", s.wrong)
		default:
			fmt.Fprintf(&b, " → no answer (%s)", s.failure)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func describeUser(u generated.UserState) string {
	f, err := userFactOf(u)
	if err != nil {
		return fmt.Sprintf("%+v (%v)", u, err)
	}
	return f.String()
}

func clock(t time.Time) string { return t.Format("15:04:05.000000") }

// TestExpiryAcrossRestart: a hold's expiry is kept across a crash, whether
// it falls while the server is down or after it is back.
func TestExpiryAcrossRestart(t *testing.T) {
	bin := buildFlashsale(t)
	expiryArgs := func(db string, ttl time.Duration) []string {
		return []string{"--store", "sqlite", "--db", db, "--addr", "127.0.0.1:0", "--admin-token", "expiry",
			"--hold-ttl", ttl.String(), "--inventory", "2", "--rate-limit", "0"}
	}

	// The holds fall due while no server runs: the restart expires them
	// and hands both units to the head of the line.
	t.Run("expired while down", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "sale.db")
		srv := startChild(t, bin, expiryArgs(db, 2*time.Second)...)
		holds := holdTwoQueueThree(t, newClient(t, srv.url))
		due := laterExpiry(holds)
		srv.kill(t)
		if !time.Now().Before(earlierExpiry(holds)) {
			t.Fatalf("the kill came after the holds were due (%v): the running server may have expired them, so this run tests nothing; the machine is too busy", clock(earlierExpiry(holds)))
		}
		waitPast(t, due)

		restarted := time.Now()
		// A long TTL now: the holds the restart hands out must not expire
		// while they are checked.
		srv = startChild(t, bin, expiryArgs(db, crashHoldTTL)...)
		c := newClient(t, srv.url)
		for _, h := range holds {
			r := mustReservation(t, c, h.ReservationId)
			if r.Status != generated.ReservationStatusExpired || r.UserId != h.UserId || !r.ExpiresAt.Equal(h.ExpiresAt) {
				t.Errorf("hold %+v reads %+v after the restart, want it expired", h, r)
			}
			if got := mustUser(t, c, h.UserId); got.State != generated.UserStateStateNone {
				t.Errorf("%s is %s, want none: their hold expired", h.UserId, describeUser(got))
			}
		}
		for _, u := range []string{"waiter-1", "waiter-2"} {
			got := mustUser(t, c, u)
			r := got.Reservation
			if got.State != generated.UserStateStateHeld || r == nil {
				t.Errorf("%s is %s, want a fresh hold", u, describeUser(got))
				continue
			}
			if r.CreatedAt.Before(sale.Instant(restarted)) || r.CreatedAt.Before(due) {
				t.Errorf("%s's hold was created at %v: before the restart (%v) or the old holds' expiry (%v)", u, clock(r.CreatedAt), clock(restarted), clock(due))
			}
			if !r.ExpiresAt.Equal(r.CreatedAt.Add(crashHoldTTL)) {
				t.Errorf("%s's hold expires at %v, not the restarted server's TTL after %v", u, clock(r.ExpiresAt), clock(r.CreatedAt))
			}
		}
		wantPlace(t, c, "waiter-3", 1)
		wantStatus(t, c, generated.Status{Initialized: true, TotalInventory: 2, Available: 0, Held: 2, Confirmed: 0, WaitlistSize: 1})
	})

	// The server is back before the holds are due: they are still held,
	// unchanged, and the rebuilt server expires them on time.
	t.Run("due after the restart", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "sale.db")
		const ttl = 3 * time.Second
		srv := startChild(t, bin, expiryArgs(db, ttl)...)
		c := newClient(t, srv.url)
		holds := holdTwoQueueThree(t, c)
		before := []generated.Reservation{mustReservation(t, c, holds[0].ReservationId), mustReservation(t, c, holds[1].ReservationId)}
		srv.kill(t)

		srv = startChild(t, bin, expiryArgs(db, ttl)...)
		c = newClient(t, srv.url)
		var after []generated.Reservation
		for _, r := range before {
			after = append(after, mustReservation(t, c, r.ReservationId))
		}
		places := []generated.UserState{mustUser(t, c, "waiter-1"), mustUser(t, c, "waiter-2"), mustUser(t, c, "waiter-3")}
		status := mustStatus(t, c)
		if !time.Now().Before(earlierExpiry(holds)) {
			t.Fatalf("the restart and its reads ended after the holds were due (%v): this run tests nothing; the machine is too busy", clock(earlierExpiry(holds)))
		}
		for i, r := range after {
			if !sameReservation(r, before[i]) {
				t.Errorf("hold %+v reads %+v after the restart, want it unchanged", before[i], r)
			}
		}
		for i, got := range places {
			if got.State != generated.UserStateStateWaiting || got.WaitlistPosition == nil || *got.WaitlistPosition != int64(i+1) {
				t.Errorf("waiter-%d is %s after the restart, want waiting at %d", i+1, describeUser(got), i+1)
			}
		}
		if want := (generated.Status{Initialized: true, TotalInventory: 2, Held: 2, WaitlistSize: 3}); status != want {
			t.Errorf("status %+v after the restart, want %+v", status, want)
		}

		due := laterExpiry(holds)
		waitPast(t, due)
		for _, r := range before {
			if got := mustReservation(t, c, r.ReservationId); got.Status != generated.ReservationStatusExpired {
				t.Errorf("hold %s is %s after it was due, want expired", r.ReservationId, got.Status)
			}
		}
		for _, u := range []string{"waiter-1", "waiter-2"} {
			if got := mustUser(t, c, u); got.State != generated.UserStateStateHeld || got.Reservation == nil || got.Reservation.CreatedAt.Before(due) {
				t.Errorf("%s is %s once the holds expired, want a hold made since %v", u, describeUser(got), clock(due))
			}
		}
		wantPlace(t, c, "waiter-3", 1)
	})
}

// holdTwoQueueThree fills a sale of two units: holder-1 and holder-2 hold
// them, waiter-1..3 wait in that order.
func holdTwoQueueThree(t *testing.T, c *generated.ClientWithResponses) []generated.Hold {
	t.Helper()
	var holds []generated.Hold
	for _, u := range []string{"holder-1", "holder-2"} {
		r := mustReserve(t, c, u)
		if r.JSON201 == nil {
			t.Fatalf("reserve %s: %d %s, want 201", u, r.StatusCode(), r.Body)
		}
		holds = append(holds, *r.JSON201)
	}
	for i, u := range []string{"waiter-1", "waiter-2", "waiter-3"} {
		r := mustReserve(t, c, u)
		if r.JSON202 == nil || r.JSON202.WaitlistPosition != int64(i+1) {
			t.Fatalf("reserve %s: %d %s, want 202 at %d", u, r.StatusCode(), r.Body, i+1)
		}
	}
	return holds
}

func earlierExpiry(holds []generated.Hold) time.Time {
	return slices.MinFunc(holds, func(a, b generated.Hold) int { return a.ExpiresAt.Compare(b.ExpiresAt) }).ExpiresAt
}

func laterExpiry(holds []generated.Hold) time.Time {
	return slices.MaxFunc(holds, func(a, b generated.Hold) int { return a.ExpiresAt.Compare(b.ExpiresAt) }).ExpiresAt
}

// sameReservation compares two reads of a reservation, times by instant.
func sameReservation(a, b generated.Reservation) bool {
	return a.ReservationId == b.ReservationId && a.UserId == b.UserId && a.Status == b.Status &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// waitPast returns once the wall clock (the one expiry is measured on) is
// past at, which must be within seconds.
func waitPast(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !time.Now().After(at) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock did not pass %v within 30s", at)
		}
		time.Sleep(min(time.Until(at)+time.Millisecond, 100*time.Millisecond))
	}
}

func wantPlace(t *testing.T, c *generated.ClientWithResponses, u string, pos int64) {
	t.Helper()
	if got := mustUser(t, c, u); got.State != generated.UserStateStateWaiting || got.WaitlistPosition == nil || *got.WaitlistPosition != pos {
		t.Errorf("%s is %s, want waiting at %d", u, describeUser(got), pos)
	}
}

func wantStatus(t *testing.T, c *generated.ClientWithResponses, want generated.Status) {
	t.Helper()
	if got := mustStatus(t, c); got != want {
		t.Errorf("status %+v, want %+v", got, want)
	}
}

// newClient is a typed client that keeps a connection per worker alive, so
// that the load spends its time on requests, not on connecting.
func newClient(t *testing.T, url string) *generated.ClientWithResponses {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: crashWorkers}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := generated.NewClientWithResponses(url, generated.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatalf("client for %s: %v", url, err)
	}
	return c
}

func mustReserve(t *testing.T, c *generated.ClientWithResponses, u string) *generated.ReserveResponse {
	t.Helper()
	r, err := c.ReserveWithResponse(context.Background(), generated.ReserveRequest{UserId: u})
	if err != nil {
		t.Fatalf("reserve %s: %v", u, err)
	}
	return r
}

func mustUser(t *testing.T, c *generated.ClientWithResponses, u string) generated.UserState {
	t.Helper()
	r, err := c.GetUserWithResponse(context.Background(), u)
	if err != nil {
		t.Fatalf("read user %s: %v", u, err)
	}
	if r.JSON200 == nil {
		t.Fatalf("read user %s: %d %s", u, r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

func mustReservation(t *testing.T, c *generated.ClientWithResponses, id string) generated.Reservation {
	t.Helper()
	r, ok := readReservation(t, c, id)
	if !ok {
		t.Fatalf("reservation %s is not found", id)
	}
	return r
}

// readReservation reads a reservation, reporting a 404 as not found.
func readReservation(t *testing.T, c *generated.ClientWithResponses, id string) (generated.Reservation, bool) {
	t.Helper()
	r, err := c.GetReservationWithResponse(context.Background(), id)
	switch {
	case err != nil:
		t.Fatalf("read reservation %s: %v", id, err)
	case r.StatusCode() == http.StatusNotFound:
		return generated.Reservation{}, false
	case r.JSON200 == nil:
		t.Fatalf("read reservation %s: %d %s", id, r.StatusCode(), r.Body)
	}
	return *r.JSON200, true
}

func mustStatus(t *testing.T, c *generated.ClientWithResponses) generated.Status {
	t.Helper()
	r, err := c.GetStatusWithResponse(context.Background())
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	if r.JSON200 == nil {
		t.Fatalf("read status: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON200
}
