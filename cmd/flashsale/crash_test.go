package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
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
	bin := serverbin.Path(t)
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
	// No limit on new users per address: all 96 come from this one.
	args := []string{"--store", "sqlite", "--db", filepath.Join(t.TempDir(), "sale.db"),
		"--admin-token", crashAdmin, "--hold-ttl", crashHoldTTL.String(), "--inventory", fmt.Sprint(crashInventory),
		"--rate-limit", "0", "--new-shopper-rate", "0"}
	rng := rand.New(rand.NewPCG(seed, 0))
	killAt := crashMinAnswers + rng.IntN(crashMaxAnswers-crashMinAnswers+1)

	h := loadUntilKilled(t, testkit.StartProcess(t, bin, args...), seed, killAt)
	srv := testkit.StartProcess(t, bin, args...) // the same command line, as an operator would
	checkAfter(t, newClient(t, srv.URL), crashAdmin, h, "after restart")
}

// crashAdmin is the crash test's admin token, with which the checks read
// the users the load never got a token for.
const crashAdmin = "crash"

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
	state    sale.UserStateKind
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

// loader runs the load against one server, each request made by the user
// it is about, with their token (as).
type loader struct {
	c       *generated.ClientWithResponses
	jar     *testkit.Jar // the users' tokens, from their first reserves
	killAt  int64
	answers atomic.Int64
	kill    chan struct{} // closed at the killAt-th answer
	stop    chan struct{} // closed to end the load between requests; nil: never
}

// loadUntilKilled drives the load until the kill point (or crashMaxLoad),
// kills srv with SIGKILL while the load goes on, and returns what every
// user asked and was told.
func loadUntilKilled(t *testing.T, srv *testkit.Process, seed uint64, killAt int) history {
	t.Helper()
	l := &loader{c: newClient(t, srv.URL), jar: jarOf(t), killAt: int64(killAt), kill: make(chan struct{})}
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
	srv.Kill(t)
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
		select {
		case <-l.stop:
			return h
		default:
		}
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
	return userFact{state: sale.None}
}

// crashMix is how often a user in each state makes each request. Cancels
// outnumber confirms four to one, so that units keep coming back to the
// line instead of all being sold in the first second.
var crashMix = map[sale.UserStateKind][]struct {
	op     string
	weight int
}{
	sale.None:    {{opReserve, 85}, {opUser, 10}, {opStatus, 5}},
	sale.Waiting: {{opUser, 40}, {opLeave, 25}, {opReserve, 20}, {opStatus, 15}},
	sale.Holding: {{opCancel, 40}, {opConfirm, 10}, {opUser, 20}, {opReservation, 15}, {opReserve, 15}},
	sale.Bought:  {{opUser, 50}, {opReservation, 25}, {opReserve, 25}},
}

func chooseOp(rng *rand.Rand, f userFact) string {
	if f.state == sale.Holding && f.hold == "" {
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
		return l.c.ReserveWithResponse(ctx, nil, generated.ReserveRequest{UserId: &s.user}, as(l.jar, s.user))
	})
	if !ok {
		return
	}
	switch {
	case r.JSON201 != nil:
		h := r.JSON201
		s.state = &userFact{state: sale.Holding, hold: h.ReservationId}
		s.holds = []holdFact{{id: h.ReservationId, user: h.UserId, status: generated.ReservationStatusHeld, expires: h.ExpiresAt}}
		s.answered(h.UserId == s.user, r.Body)
	case testkit.Waitlisted(r) != nil:
		w := testkit.Waitlisted(r)
		s.state = &userFact{state: sale.Waiting, position: w.WaitlistPosition}
		s.answered(w.UserId == s.user, r.Body)
	case isProblem(r.ApplicationproblemJSON409, generated.ProblemTypeAlreadyReserved):
		p := r.ApplicationproblemJSON409
		if p.ReservationId == nil || p.ReservationStatus == nil {
			s.answered(false, r.Body)
			return
		}
		s.state = &userFact{state: userStateOf(*p.ReservationStatus), hold: *p.ReservationId}
		s.holds = []holdFact{{id: *p.ReservationId, user: s.user, status: *p.ReservationStatus}}
		s.answered(s.state.state == sale.Holding || s.state.state == sale.Bought, r.Body)
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
		next = userFact{state: sale.Bought, hold: s.hold}
	)
	if s.op == opConfirm {
		var r *generated.ConfirmReservationResponse
		if r, ok = send(s, func(ctx context.Context) (*generated.ConfirmReservationResponse, error) {
			return l.c.ConfirmReservationWithResponse(ctx, s.hold, nil, as(l.jar, s.user))
		}); ok {
			res, raw = r.JSON200, r.Body
		}
	} else {
		want, next = generated.ReservationStatusCancelled, userFact{state: sale.None}
		var r *generated.CancelReservationResponse
		if r, ok = send(s, func(ctx context.Context) (*generated.CancelReservationResponse, error) {
			return l.c.CancelReservationWithResponse(ctx, s.hold, nil, as(l.jar, s.user))
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
		return l.c.LeaveWaitlistWithResponse(ctx, s.user, as(l.jar, s.user))
	})
	if !ok {
		return
	}
	switch {
	case r.StatusCode() == http.StatusNoContent:
		s.state = &userFact{state: sale.None}
		s.answered(true, nil)
	case isProblem(r.ApplicationproblemJSON404, generated.ProblemTypeNotWaiting):
		// The user was told they wait; only a promotion takes them out of
		// the line without a request of theirs.
		s.state = &userFact{state: sale.Holding}
		s.answered(true, nil)
	default:
		s.answered(false, r.Body)
	}
}

func (l *loader) readUser(s *step) {
	// A user who never reserved has no token yet: nobody may read about
	// them without one, them included, and nothing changes.
	tokenless := l.jar.Token(s.user) == ""
	r, ok := send(s, func(ctx context.Context) (*generated.GetUserResponse, error) {
		return l.c.GetUserWithResponse(ctx, s.user, as(l.jar, s.user))
	})
	if !ok {
		return
	}
	if tokenless {
		s.answered(isProblem(r.ApplicationproblemJSON401, generated.ProblemTypeUnauthorized), r.Body)
		return
	}
	if r.JSON200 == nil {
		s.answered(false, r.Body)
		return
	}
	v, err := r.JSON200.ValueByDiscriminator()
	var a userAnswer
	if err == nil {
		a, err = userAnswerOf(v)
	}
	if err != nil || a.user != s.user {
		s.answered(false, r.Body)
		return
	}
	s.state = &a.fact
	if a.shown != nil {
		s.holds = []holdFact{reservationFact(*a.shown)}
	}
	s.answered(true, nil)
}

func (l *loader) readReservation(s *step) {
	r, ok := send(s, func(ctx context.Context) (*generated.GetReservationResponse, error) {
		return l.c.GetReservationWithResponse(ctx, s.hold, as(l.jar, s.user))
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
		s.state = &userFact{state: userStateOf(res.Status), hold: res.ReservationId}
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

// userAnswer is what a UserState answer says: whose it is, the user's
// fact, and the reservation it shows, if any (for a none user, the last
// hold).
type userAnswer struct {
	user  string
	fact  userFact
	shown *generated.Reservation
}

// userAnswerOf reads v, one of UserState's shapes as ValueByDiscriminator
// gives it.
func userAnswerOf(v any) (userAnswer, error) {
	switch u := v.(type) {
	case generated.UserNone:
		return userAnswer{user: u.UserId, fact: userFact{state: sale.None}, shown: u.Reservation}, nil
	case generated.UserWaiting:
		return userAnswer{user: u.UserId, fact: userFact{state: sale.Waiting, position: u.WaitlistPosition}}, nil
	case generated.UserHeld:
		return liveHold(u.UserId, sale.Holding, u.Reservation)
	case generated.UserConfirmed:
		return liveHold(u.UserId, sale.Bought, u.Reservation)
	}
	return userAnswer{}, fmt.Errorf("not a user state: %+v", v)
}

func liveHold(user string, state sale.UserStateKind, r generated.Reservation) (userAnswer, error) {
	if r.ReservationId == "" {
		return userAnswer{}, fmt.Errorf("%s is %s without a reservation", user, state)
	}
	return userAnswer{user: user, fact: userFact{state: state, hold: r.ReservationId}, shown: &r}, nil
}

// userStateOf is the state of a user whose live reservation has status s
// (held or confirmed): the two enums share these values.
func userStateOf(s generated.ReservationStatus) sale.UserStateKind {
	return sale.UserStateKind(s)
}

func reservationFact(r generated.Reservation) holdFact {
	return holdFact{id: r.ReservationId, user: r.UserId, status: r.Status, created: r.CreatedAt, expires: r.ExpiresAt}
}

func isProblem(p *generated.Problem, typ generated.ProblemType) bool {
	return p != nil && p.Type == typ
}
