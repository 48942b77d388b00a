package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
)

// ttl is every test store's hold lifetime.
const ttl = 5 * time.Minute

// t0 is where every fake clock starts: a whole second, far from any zone or
// leap-year edge, so that no backend's time handling is tested by accident.
var t0 = time.Date(2030, time.March, 4, 12, 0, 0, 0, time.UTC)

// harness is one store under test with its clock. Its helpers fail the test
// on any answer other than the one they expect, and check the sale's
// invariants after every step.
type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *clocktest.Clock
	s     sale.Store
}

func start(t *testing.T, f Factory) *harness {
	t.Helper()
	return startWith(t, f, sale.Config{})
}

// startWith is start with the key settings of cfg (its hold TTL and clock
// are the harness's).
func startWith(t *testing.T, f Factory, cfg sale.Config) *harness {
	t.Helper()
	h := &harness{t: t, ctx: t.Context(), clock: clocktest.New(t0)}
	cfg.HoldTTL, cfg.Clock = ttl, h.clock
	h.s = f(t, cfg)
	t.Cleanup(func() {
		if err := h.s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h
}

func (h *harness) now() time.Time { return h.clock.Now() }

// advance moves the clock by d and returns the instant a store keeps for the
// new time (sale.Instant: microseconds, UTC).
func (h *harness) advance(d time.Duration) time.Time { return sale.Instant(h.clock.Advance(d)) }

// at sets the clock to t and returns t.
func (h *harness) at(t time.Time) time.Time {
	h.clock.Set(t)
	return t
}

// init calls Initialize, expecting success, and checks that the status it
// returns is the store's status.
func (h *harness) init(total int64, reset bool) sale.Status {
	h.t.Helper()
	st, err := sale.Initialize(h.ctx, h.s, total, reset)
	if err != nil {
		h.t.Fatalf("initialize %d reset=%v: %v", total, reset, err)
	}
	if !st.Initialized || st.Total != total || !st.Balanced() {
		h.t.Fatalf("initialize %d reset=%v returned %+v", total, reset, st)
	}
	if got := h.status(); got != st {
		h.t.Fatalf("initialize returned %+v, then status is %+v", st, got)
	}
	return st
}

// hold reserves for user, expecting a fresh hold made now.
func (h *harness) hold(user string) sale.Reservation {
	h.t.Helper()
	res, err := sale.Reserve(h.ctx, h.s, user)
	if err != nil {
		h.t.Fatalf("reserve %s: %v", user, err)
	}
	if res.Reservation == nil || res.Position != 0 {
		h.t.Fatalf("reserve %s: want a hold, got %+v", user, res)
	}
	r := *res.Reservation
	h.freshHold(r, user)
	h.status()
	return r
}

// freshHold checks that r is a hold for user made at the clock's time, to
// the microsecond.
func (h *harness) freshHold(r sale.Reservation, user string) {
	h.t.Helper()
	now := sale.Instant(h.now())
	if !validID(r.ID) || r.UserID != user || r.Status != sale.Held ||
		!r.CreatedAt.Equal(now) || !r.ExpiresAt.Equal(now.Add(ttl)) {
		h.t.Fatalf("hold for %s at %v: got %+v; want status held, created now, expiring now+%v, a URL-safe id of 22+ characters",
			user, now, r, ttl)
	}
}

// wait reserves for user, expecting to join the line at pos.
func (h *harness) wait(user string, pos int64) { h.t.Helper(); h.reserveWaiting(user, pos, false) }

// waitAgain reserves for user, who waits already at pos.
func (h *harness) waitAgain(user string, pos int64) { h.t.Helper(); h.reserveWaiting(user, pos, true) }

func (h *harness) reserveWaiting(user string, pos int64, again bool) {
	h.t.Helper()
	res, err := sale.Reserve(h.ctx, h.s, user)
	if err != nil {
		h.t.Fatalf("reserve %s: %v", user, err)
	}
	if res.Reservation != nil || res.Position != pos || res.AlreadyWaiting != again {
		h.t.Fatalf("reserve %s: got %+v, want position %d, already waiting %v", user, res, pos, again)
	}
	h.status()
}

// status reads the status and checks the invariants.
func (h *harness) status() sale.Status {
	h.t.Helper()
	st, err := h.s.Status(h.ctx)
	if err != nil {
		h.t.Fatalf("status: %v", err)
	}
	if !st.Balanced() {
		h.t.Fatalf("status %+v breaks the invariants", st)
	}
	return st
}

// wantStatus checks the numbers of an initialized sale.
func (h *harness) wantStatus(total, available, held, confirmed, waiting int64) {
	h.t.Helper()
	want := sale.Status{Initialized: true, Total: total, Available: available, Held: held, Confirmed: confirmed, Waiting: waiting, Phase: sale.PhaseOpen}
	if got := h.status(); got != want {
		h.t.Fatalf("status:\n got %+v\nwant %+v", got, want)
	}
}

func (h *harness) user(user string) sale.UserState {
	h.t.Helper()
	u, err := h.s.User(h.ctx, user)
	if err != nil {
		h.t.Fatalf("user %s: %v", user, err)
	}
	if u.UserID != user {
		h.t.Fatalf("user %s: answer is about %q", user, u.UserID)
	}
	return u
}

func (h *harness) wantWaiting(user string, pos int64) {
	h.t.Helper()
	if u := h.user(user); u.State != sale.Waiting || u.Position != pos {
		h.t.Fatalf("user %s: got %s, want waiting at %d", user, show(u), pos)
	}
}

// wantHolding checks that user holds a unit and returns the hold, which must
// also be readable by its id.
func (h *harness) wantHolding(user string) sale.Reservation {
	h.t.Helper()
	u := h.user(user)
	if u.State != sale.Holding || u.Position != 0 || u.Reservation == nil ||
		u.Reservation.Status != sale.Held || u.Reservation.UserID != user {
		h.t.Fatalf("user %s: got %s, want holding", user, show(u))
	}
	if r := h.reservation(u.Reservation.ID); !sameReservation(r, *u.Reservation) {
		h.t.Fatalf("user %s shows %+v, reading it by id gives %+v", user, *u.Reservation, r)
	}
	return *u.Reservation
}

// wantNone checks that user neither holds, owns nor waits, and returns the
// last hold the store shows for them (nil if none).
func (h *harness) wantNone(user string) *sale.Reservation {
	h.t.Helper()
	u := h.user(user)
	if u.State != sale.None || u.Position != 0 {
		h.t.Fatalf("user %s: got %s, want none", user, show(u))
	}
	return u.Reservation
}

func (h *harness) reservation(id string) sale.Reservation {
	h.t.Helper()
	r, err := h.s.Reservation(h.ctx, id)
	if err != nil {
		h.t.Fatalf("reservation %s: %v", id, err)
	}
	if r.ID != id {
		h.t.Fatalf("reservation %s: answer is about %q", id, r.ID)
	}
	return r
}

func (h *harness) wantReservationStatus(id string, want sale.HoldStatus) sale.Reservation {
	h.t.Helper()
	r := h.reservation(id)
	if r.Status != want {
		h.t.Fatalf("reservation %s: got %+v, want status %s", id, r, want)
	}
	return r
}

func (h *harness) confirm(id string) sale.Reservation {
	h.t.Helper()
	r, err := sale.Confirm(h.ctx, h.s, id)
	if err != nil {
		h.t.Fatalf("confirm %s: %v", id, err)
	}
	if r.ID != id || r.Status != sale.Confirmed {
		h.t.Fatalf("confirm %s: got %+v", id, r)
	}
	h.status()
	return r
}

func (h *harness) cancel(id string) sale.Reservation {
	h.t.Helper()
	r, err := sale.Cancel(h.ctx, h.s, id)
	if err != nil {
		h.t.Fatalf("cancel %s: %v", id, err)
	}
	if r.ID != id || r.Status != sale.Cancelled {
		h.t.Fatalf("cancel %s: got %+v", id, r)
	}
	h.status()
	return r
}

func (h *harness) leave(user string) {
	h.t.Helper()
	if err := h.s.Leave(h.ctx, user); err != nil {
		h.t.Fatalf("leave %s: %v", user, err)
	}
	h.status()
}

func (h *harness) expire() int {
	h.t.Helper()
	n, err := h.s.Expire(h.ctx)
	if err != nil {
		h.t.Fatalf("expire: %v", err)
	}
	h.status()
	return n
}

// wantErr checks that err is target (errors.Is) and names the op.
func (h *harness) wantErr(op string, err, target error) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("%s: got error %v, want %v", op, err, target)
	}
}

// wantConflict checks that err is a *sale.ConflictError wrapping target about
// reservation id in state status, and returns its reservation.
func (h *harness) wantConflict(op string, err, target error, id string, status sale.HoldStatus) sale.Reservation {
	h.t.Helper()
	var ce *sale.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, target) {
		h.t.Fatalf("%s: got error %v, want a *sale.ConflictError wrapping %v", op, err, target)
	}
	if ce.Reservation.ID != id || ce.Reservation.Status != status {
		h.t.Fatalf("%s: conflict carries %+v, want reservation %s in status %s", op, ce.Reservation, id, status)
	}
	return ce.Reservation
}

// validID reports whether id looks unguessable and is safe in a URL path:
// at least 22 characters (128 bits in base64) of RFC 3986's unreserved set.
func validID(id string) bool {
	if len(id) < 22 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
		if !ok {
			return false
		}
	}
	return true
}

// sameReservation compares reservations with time.Equal, since a backend may
// give back times in another location.
func sameReservation(a, b sale.Reservation) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Status == b.Status &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func show(u sale.UserState) string {
	s := string(u.State)
	if u.Position != 0 {
		s += fmt.Sprintf(" at %d", u.Position)
	}
	if u.Reservation != nil {
		s += fmt.Sprintf(" with %s %s", u.Reservation.ID, u.Reservation.Status)
	}
	return s
}

// events reads every event the store's feed has, in order.
func (h *harness) events() []sale.Event {
	h.t.Helper()
	var all []sale.Event
	for {
		page, _, err := h.s.Events(h.ctx, lastSeq(all), 1000)
		if err != nil {
			h.t.Fatalf("events after %d: %v", lastSeq(all), err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

func lastSeq(events []sale.Event) uint64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].Seq
}

func userName(i int) string { return fmt.Sprintf("user-%04d", i) }
