package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// observed is what the restarted server says, read with no load running.
type observed struct {
	status generated.Status
	users  map[string]userAnswer
	holds  map[string]generated.Reservation // every reservation the load or these reads named; missing: 404
}

// observe reads the sale after a crash: the status, every user of h, and
// every reservation an answer or these reads named.
//
// Each user, and each reservation, is read as the user the answers say it
// is of, with their token (which must still work after the crash), or as
// the admin for a user whose only reserve got no answer (who has none).
// A reservation read as a user it is not of reads 404, as a missing one.
func observe(t *testing.T, c *generated.ClientWithResponses, admin string, h history) observed {
	t.Helper()
	o := observed{status: mustStatus(t, c), users: map[string]userAnswer{}, holds: map[string]generated.Reservation{}}
	jar := jarOf(t)
	ids := map[string]string{} // reservation → its user, as the answers say
	for u, steps := range h {
		a, err := userAnswerOf(mustUser(t, c, u, asOrAdmin(jar, u, admin)))
		if err != nil {
			t.Fatalf("read user %s: %v", u, err)
		}
		o.users[u] = a
		if a.shown != nil {
			ids[a.shown.ReservationId] = u
		}
		for _, s := range steps {
			for _, f := range s.holds {
				ids[f.id] = f.user
			}
		}
	}
	for id, u := range ids {
		if r, ok := readReservation(t, c, id, asOrAdmin(jar, u, admin)); ok {
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
	none := userFact{state: sale.None}
	var out []userFact
	switch f.state {
	case sale.None:
		out = []userFact{none}
		if x != nil && x.op == opReserve {
			out = append(out, userFact{state: sale.Waiting}, userFact{state: sale.Holding})
		}
	case sale.Waiting:
		// Still in line, or promoted to a hold they were not told of yet.
		out = []userFact{{state: sale.Waiting}, {state: sale.Holding}}
		if x != nil && x.op == opLeave {
			out = append(out, none)
		}
	case sale.Holding:
		out = []userFact{{state: sale.Holding, hold: f.hold}}
		if x != nil && x.op == opConfirm {
			out = append(out, userFact{state: sale.Bought, hold: f.hold})
		}
		if x != nil && x.op == opCancel {
			out = append(out, none)
		}
	case sale.Bought:
		out = []userFact{f}
	}
	return out
}

func (e userFact) matches(u userAnswer) bool {
	return u.fact.state == e.state && (e.hold == "" || u.fact.hold == e.hold)
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
		if got := o.users[u].fact; got.state == sale.Waiting {
			line = append(line, place{u, got.position, joinOf(h[u])})
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
		if s.state.state != sale.Waiting {
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
		switch us.fact.state {
		case sale.Holding:
			held++
		case sale.Bought:
			confirmed++
		default:
			continue
		}
		if got := o.holds[us.fact.hold]; userStateOf(got.Status) != us.fact.state || got.UserId != u {
			t.Errorf("%s is %s, but their reservation reads %+v", u, us.fact, got)
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
		if us := o.users[r.UserId]; us.fact.hold != id {
			t.Errorf("reservation %s of %s is %s, but the user is %s", id, r.UserId, r.Status, us.fact)
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
		cr, err := c.ConfirmReservationWithResponse(context.Background(), r.JSON201.ReservationId, nil)
		if err != nil {
			t.Fatalf("confirm a hold made after the restart: %v", err)
		}
		if cr.JSON200 == nil || cr.JSON200.Status != generated.ReservationStatusConfirmed {
			t.Errorf("confirm a hold made after the restart: %d %s", cr.StatusCode(), cr.Body)
		}
	case testkit.Waitlisted(r) != nil:
		got := mustUser(t, c, u)
		if _, ok := got.(generated.UserWaiting); !ok {
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

// describeUser says where u, one of UserState's shapes, stands.
func describeUser(u any) string {
	a, err := userAnswerOf(u)
	if err != nil {
		return fmt.Sprintf("%+v (%v)", u, err)
	}
	return a.fact.String()
}

func clock(t time.Time) string { return t.Format("15:04:05.000000") }

// checkAfter reads the sale through c (and as the admin, whose token admin
// is, what no token of the test's can read), after a crash (when), and checks
// everything h was told against it: every hold and place still there, the
// line in order, the books balanced, and the server still selling.
func checkAfter(t *testing.T, c *generated.ClientWithResponses, admin string, h history, when string) observed {
	t.Helper()
	o := observe(t, c, admin, h)
	t.Logf("%s; %s: available %d, held %d, confirmed %d, waiting %d",
		h.summary(), when, o.status.Available, o.status.Held, o.status.Confirmed, o.status.WaitlistSize)
	checkHolds(t, h, o)
	checkUsers(t, h, o)
	checkLine(t, h, o)
	checkBalance(t, o)
	checkStillServes(t, c)
	return o
}
