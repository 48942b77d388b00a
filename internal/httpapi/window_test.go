package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestSaleWindowOnEveryStack plays one scheduled sale from the schedule
// to after its close: reserves before the opening join the pre-queue and
// get no hold, not even in the opening's last microsecond; the first
// request at the opening makes the draw, whose seed is the one committed
// to, whose order is sale.DrawOrder of the exported entrants, and whose
// holds count from the opening; later arrivals go behind the drawn; at the
// close the line is emptied and reserves are refused, while a hold given
// before the close is still confirmed after it.
func TestSaleWindowOnEveryStack(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(epoch), Sale: sale.Config{HoldTTL: holdTTL}}, func(t *testing.T, s *testkit.Stack) {
		w := newWindowStack(t, s)
		const total = 3

		// Scheduled: the commitment is published, the seed is not.
		first := w.initialize(windowBody(total, winOpens, winCloses, false))
		st := statusOf(t, first)
		if st.DrawCommitment == nil || !hex64.MatchString(*st.DrawCommitment) {
			t.Fatalf("a scheduled sale with no draw_commitment of 64 hex digits: %s", first.body)
		}
		commitment := *st.DrawCommitment
		scheduled := generated.Status{Phase: generated.StatusPhaseScheduled, Initialized: true, TotalInventory: total, Available: total,
			OpensAt: &winOpens, ClosesAt: &winCloses, DrawCommitment: &commitment}
		wantStatusIs(t, st, scheduled)
		for _, member := range []string{`"opens_at":"` + stampUS(winOpens) + `"`, `"closes_at":"` + stampUS(winCloses) + `"`, `"prequeue_size":0`} {
			if !strings.Contains(string(first.body), member) {
				t.Errorf("initialize answered %s, without %s", first.body, member)
			}
		}
		if strings.Contains(string(first.body), "draw_seed") {
			t.Fatalf("the seed is revealed before the opening: %s", first.body)
		}
		wantStatusIs(t, w.next().status(), scheduled)

		// The entrants are the admin's to export.
		resp, body := w.next().rawBare(http.MethodGet, "/draw/entrants", "", nil)
		wantProblem(t, resp.StatusCode, http.StatusUnauthorized, body, generated.ProblemTypeUnauthorized)
		if got := w.entrants(); len(got) != 0 {
			t.Fatalf("entrants before anyone reserved: %q", got)
		}

		// Ten shoppers reserve, from ten minutes to one before the opening.
		var users []string
		for i := range 10 {
			u := fmt.Sprintf("s%02d", i+1)
			users = append(users, u)
			w.clock.Set(epoch.Add(time.Duration(i) * time.Minute))
			r := w.next().reserve(u)
			q := testkit.Queued(r)
			if q == nil {
				t.Fatalf("%s reserves before the opening: %d %s, want 202 queued", u, r.StatusCode(), r.Body)
			}
			if q.UserId != u || !q.OpensAt.Equal(winOpens) || q.DrawCommitment != commitment || q.ShopperToken == nil ||
				!strings.HasPrefix(q.Message, "In the pre-queue") {
				t.Fatalf("%s's queued answer: %s", u, r.Body)
			}
			if loc := r.HTTPResponse.Header.Get("Location"); loc != "/users/"+u {
				t.Errorf("%s's queued answer has Location %q", u, loc)
			}
		}
		for _, u := range users {
			got := userAs[generated.UserQueued](w.next(), u)
			if got.UserId != u || !got.OpensAt.Equal(winOpens) || got.DrawCommitment != commitment {
				t.Fatalf("GET /users/%s: %+v", u, got)
			}
		}
		// Asking again keeps the place in the pre-queue, and says so.
		again := w.next().reserve("s01")
		if q := testkit.Queued(again); q == nil || !strings.HasPrefix(q.Message, "Already in the pre-queue") || q.ShopperToken != nil ||
			!q.OpensAt.Equal(winOpens) || q.DrawCommitment != commitment {
			t.Fatalf("s01 reserves again: %d %s", again.StatusCode(), again.Body)
		}
		// Leaving the pre-queue works, once.
		h := w.next()
		if r, err := h.client.LeaveWaitlistWithResponse(h.ctx(), "s10"); err != nil || r.StatusCode() != http.StatusNoContent {
			t.Fatalf("s10 leaves the pre-queue: %v %s", err, r.Body)
		}
		if got := userAs[generated.UserNone](w.next(), "s10"); got.Reservation != nil {
			t.Fatalf("s10 after leaving: %+v", got)
		}
		h = w.next()
		if r, err := h.client.LeaveWaitlistWithResponse(h.ctx(), "s10"); err != nil {
			t.Fatal(err)
		} else {
			wantProblem(t, r.StatusCode(), http.StatusNotFound, r.Body, generated.ProblemTypeNotWaiting)
		}
		users = users[:9]
		// A shopper's token is not the admin's.
		resp, body = w.next().rawBare(http.MethodGet, "/draw/entrants", "", nil, "Authorization", "Bearer "+w.hs[0].token("s01"))
		wantProblem(t, resp.StatusCode, http.StatusUnauthorized, body, generated.ProblemTypeUnauthorized)

		// The opening's last microsecond grants nothing: one more joins
		// the pre-queue.
		w.clock.Set(winOpens.Add(-time.Microsecond))
		if r := w.next().reserve("s11"); testkit.Queued(r) == nil {
			t.Fatalf("s11 reserves a microsecond before the opening: %d %s", r.StatusCode(), r.Body)
		}
		users = append(users, "s11")
		want := scheduled
		want.PrequeueSize = int64(len(users))
		wantStatusIs(t, w.next().status(), want)
		if got := w.entrants(); !slices.Equal(got, users) {
			t.Fatalf("entrants before the opening %q, want %q (sorted by id)", got, users)
		}
		for _, u := range users {
			userAs[generated.UserQueued](w.next(), u)
		}

		// The opening: the first request makes the draw.
		w.clock.Set(winOpens)
		st = w.next().status()
		seed := revealed(t, st, commitment)
		open := generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: total, Held: total,
			WaitlistSize: int64(len(users) - total), OpensAt: &winOpens, ClosesAt: &winCloses, DrawCommitment: &commitment, DrawSeed: st.DrawSeed}
		wantStatusIs(t, st, open)
		wantStatusIs(t, w.next().status(), open)
		entrants := w.entrants()
		if !slices.Equal(entrants, users) {
			t.Fatalf("the draw's entrants %q, want %q", entrants, users)
		}
		order := sale.DrawOrder(seed, entrants)
		holds := map[string]generated.Reservation{}
		for i, u := range order {
			if i < total {
				got := userAs[generated.UserHeld](w.next(), u)
				r := got.Reservation
				if r.Status != generated.ReservationStatusHeld || !r.CreatedAt.Equal(winOpens) || !r.ExpiresAt.Equal(winOpens.Add(holdTTL)) {
					t.Fatalf("%s, drawn %d of %d, holds %+v: want a hold made at the opening %v, expiring %v", u, i+1, len(order), r, winOpens, winOpens.Add(holdTTL))
				}
				holds[u] = r
				continue
			}
			got := userAs[generated.UserWaiting](w.next(), u)
			if got.WaitlistPosition != int64(i-total+1) {
				t.Fatalf("%s, drawn %d of %d, waits at place %d, want %d; the drawn order is %q", u, i+1, len(order), got.WaitlistPosition, i-total+1, order)
			}
		}

		// Later arrivals go behind everyone drawn, in arrival order.
		w.clock.Set(winOpens.Add(time.Second))
		for i, u := range []string{"late1", "late2"} {
			r := w.next().reserve(u)
			if wl := testkit.Waitlisted(r); wl == nil || wl.WaitlistPosition != int64(len(users)-total+i+1) {
				t.Fatalf("%s arrives after the opening: %d %s, want place %d", u, r.StatusCode(), r.Body, len(users)-total+i+1)
			}
		}
		// A unit given back goes to the first drawn in line.
		h = w.next()
		if r, err := h.client.CancelReservationWithResponse(h.ctx(), holds[order[0]].ReservationId, nil); err != nil || r.JSON200 == nil {
			t.Fatalf("cancel %s's hold: %v %s", order[0], err, r.Body)
		}
		promoted := userAs[generated.UserHeld](w.next(), order[total]).Reservation
		if !promoted.CreatedAt.Equal(winOpens.Add(time.Second)) {
			t.Fatalf("%s, first in the drawn line, promoted: %+v", order[total], promoted)
		}
		holds[order[total]] = promoted
		if got := userAs[generated.UserWaiting](w.next(), "late1"); got.WaitlistPosition != int64(len(users)-total) {
			t.Fatalf("late1 after a promotion: place %d", got.WaitlistPosition)
		}

		// The close's last microsecond is still open.
		w.clock.Set(winCloses.Add(-time.Microsecond))
		if st := w.next().status(); st.Phase != generated.StatusPhaseOpen || st.WaitlistSize != int64(len(users)-total+1) {
			t.Fatalf("a microsecond before the close: %+v", st)
		}

		// The close: the line is emptied, reserves are refused, holds
		// given before it stay.
		w.clock.Set(winCloses)
		closed := generated.Status{Phase: generated.StatusPhaseClosed, Initialized: true, TotalInventory: total, Held: total,
			OpensAt: &winOpens, ClosesAt: &winCloses, DrawCommitment: &commitment, DrawSeed: st.DrawSeed}
		wantStatusIs(t, w.next().status(), closed)
		for _, u := range append(slices.Clone(order[total+1:]), "late1", "late2") {
			userAs[generated.UserNone](w.next(), u)
		}
		for _, u := range []string{"late3", order[total+1], "late1"} {
			r := w.next().reserve(u)
			wantProblem(t, r.StatusCode(), http.StatusConflict, r.Body, generated.ProblemTypeSaleClosed)
		}
		if r := w.next().reserve(order[1]); r.StatusCode() != http.StatusConflict {
			t.Fatalf("%s, who holds a unit, reserves after the close: %d %s", order[1], r.StatusCode(), r.Body)
		}
		// A hold given at the opening is confirmed after the close.
		h = w.next()
		conf, err := h.client.ConfirmReservationWithResponse(h.ctx(), holds[order[1]].ReservationId, nil)
		if err != nil || conf.StatusCode() != http.StatusOK || conf.JSON200 == nil || conf.JSON200.Status != generated.ReservationStatusConfirmed {
			t.Fatalf("confirm %s's hold after the close: %v %s", order[1], err, conf.Body)
		}
		// A unit given back after the close goes to nobody.
		h = w.next()
		if r, err := h.client.CancelReservationWithResponse(h.ctx(), holds[order[2]].ReservationId, nil); err != nil || r.JSON200 == nil {
			t.Fatalf("cancel %s's hold after the close: %v %s", order[2], err, r.Body)
		}
		closed.Held, closed.Confirmed, closed.Available = total-2, 1, 1
		wantStatusIs(t, w.next().status(), closed)
		r := w.next().reserve(order[total+1])
		wantProblem(t, r.StatusCode(), http.StatusConflict, r.Body, generated.ProblemTypeSaleClosed)

		// The last hold expires after the close; its unit goes to nobody.
		w.clock.Set(promoted.ExpiresAt)
		closed.Held, closed.Available = 0, 2
		wantStatusIs(t, w.next().status(), closed)
		if got := userAs[generated.UserNone](w.next(), order[total]); got.Reservation == nil || got.Reservation.Status != generated.ReservationStatusExpired {
			t.Fatalf("%s after the hold expired: %+v", order[total], got)
		}
	})
}
