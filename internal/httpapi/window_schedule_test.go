package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestSaleWindowSchedule: which windows an initialize may set, and when
// it may move one.
func TestSaleWindowSchedule(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(epoch), Sale: sale.Config{HoldTTL: holdTTL}}, func(t *testing.T, s *testkit.Stack) {
		w := newWindowStack(t, s)
		refused := func(body string, status int, typ generated.ProblemType) {
			t.Helper()
			a := w.initialize(body)
			wantProblem(t, a.status, status, a.body, typ)
		}
		opens, closes := epoch.Add(10*time.Minute), epoch.Add(20*time.Minute)

		// A close not after the opening is no window at all.
		refused(windowBody(2, opens, opens, false), http.StatusBadRequest, generated.ProblemTypeInvalidRequest)
		refused(windowBody(2, opens, opens.Add(-time.Microsecond), false), http.StatusBadRequest, generated.ProblemTypeInvalidRequest)
		// A close that has passed cannot be set.
		refused(windowBody(2, time.Time{}, epoch.Add(-time.Second), false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		refused(windowBody(2, time.Time{}, epoch, false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		if st := w.next().status(); st.Initialized || st.Phase != "" {
			t.Fatalf("refused initializes changed the sale: %+v", st)
		}

		// An opening that has passed is an opening now: no draw.
		st := statusOf(t, w.initialize(windowBody(2, epoch.Add(-time.Hour), time.Time{}, false)))
		if st.Phase != generated.StatusPhaseOpen || st.DrawCommitment != nil || st.DrawSeed != nil || st.Available != 2 {
			t.Fatalf("a sale opening in the past: %+v", st)
		}
		w.next().hold("first")
		// Its opening is past: it cannot be moved.
		refused(windowBody(2, opens, time.Time{}, false), http.StatusConflict, generated.ProblemTypeScheduleConflict)

		// A reset schedules a new sale.
		st = statusOf(t, w.initialize(windowBody(2, opens, closes, true)))
		if st.Phase != generated.StatusPhaseScheduled || st.DrawCommitment == nil {
			t.Fatalf("a reset with a window: %+v", st)
		}
		commitment := *st.DrawCommitment
		// An opening still ahead moves, the commitment with it unchanged;
		// a call without times keeps them.
		moved := epoch.Add(5 * time.Minute)
		st = statusOf(t, w.initialize(windowBody(2, moved, time.Time{}, false)))
		wantStatusIs(t, st, generated.Status{Phase: generated.StatusPhaseScheduled, Initialized: true, TotalInventory: 2, Available: 2,
			OpensAt: &moved, ClosesAt: &closes, DrawCommitment: &commitment})
		st = statusOf(t, w.initialize(windowBody(3, time.Time{}, time.Time{}, false)))
		wantStatusIs(t, st, generated.Status{Phase: generated.StatusPhaseScheduled, Initialized: true, TotalInventory: 3, Available: 3,
			OpensAt: &moved, ClosesAt: &closes, DrawCommitment: &commitment})
		// A close not after the sale's opening, or already passed, is a
		// conflict with the sale's own window.
		refused(windowBody(3, time.Time{}, moved.Add(-time.Minute), false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		refused(windowBody(3, time.Time{}, moved, false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		refused(windowBody(3, time.Time{}, epoch.Add(-time.Microsecond), false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		refused(windowBody(3, closes.Add(time.Minute), time.Time{}, false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		if got := w.next().status(); !got.OpensAt.Equal(moved) || !got.ClosesAt.Equal(closes) || *got.DrawCommitment != commitment {
			t.Fatalf("refused moves changed the window: %+v", got)
		}

		// Opened: the opening cannot move any more; the close still can.
		w.clock.Set(moved)
		if st := w.next().status(); st.Phase != generated.StatusPhaseOpen {
			t.Fatalf("at the opening: %+v", st)
		}
		refused(windowBody(3, epoch.Add(30*time.Minute), time.Time{}, false), http.StatusConflict, generated.ProblemTypeScheduleConflict)
		later := epoch.Add(15 * time.Minute)
		st = statusOf(t, w.initialize(windowBody(3, time.Time{}, later, false)))
		if st.Phase != generated.StatusPhaseOpen || !st.ClosesAt.Equal(later) || !st.OpensAt.Equal(moved) {
			t.Fatalf("the close moved while open: %+v", st)
		}

		// Closed: nothing moves.
		w.clock.Set(later)
		if st := w.next().status(); st.Phase != generated.StatusPhaseClosed {
			t.Fatalf("at the close: %+v", st)
		}
		refused(windowBody(3, time.Time{}, epoch.Add(time.Hour), false), http.StatusConflict, generated.ProblemTypeScheduleConflict)

		// A reset schedules again, with a new seed.
		next := later.Add(time.Hour)
		st = statusOf(t, w.initialize(windowBody(2, next, time.Time{}, true)))
		if st.Phase != generated.StatusPhaseScheduled || st.DrawCommitment == nil || *st.DrawCommitment == commitment || st.ClosesAt != nil {
			t.Fatalf("a reset of a closed sale: %+v (the last commitment %s)", st, commitment)
		}
		commitment = *st.DrawCommitment
		if r := w.next().reserve("early"); testkit.Queued(r) == nil {
			t.Fatalf("early: %d %s", r.StatusCode(), r.Body)
		}
		// An opening moved to a time already passed is the draw, now.
		now := w.clock.Now()
		st = statusOf(t, w.initialize(windowBody(2, now.Add(-time.Second), time.Time{}, false)))
		if st.Phase != generated.StatusPhaseOpen || st.Held != 1 || !st.OpensAt.Equal(now) {
			t.Fatalf("an opening moved into the past: %+v", st)
		}
		revealed(t, st, commitment)
		if got := userAs[generated.UserHeld](w.next(), "early"); !got.Reservation.CreatedAt.Equal(now) {
			t.Fatalf("early after the draw: %+v", got)
		}
	})
}

// An initialize that schedules a sale, sent again with its idempotency key,
// gets its first answer byte for byte, on either server, even after the
// opening it announced has come and gone.
func TestSaleWindowInitializeReplays(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(epoch), Sale: sale.Config{HoldTTL: holdTTL}}, func(t *testing.T, s *testkit.Stack) {
		w := newWindowStack(t, s)
		body := windowBody(2, winOpens, winCloses, false)
		first := w.initialize(body, "Idempotency-Key", "schedule-1")
		wantFirst(t, first, http.StatusOK)
		if st := statusOf(t, first); st.Phase != generated.StatusPhaseScheduled {
			t.Fatalf("first: %s", first.body)
		}
		wantReplay(t, first, w.initialize(body, "Idempotency-Key", "schedule-1"))
		if r := w.next().reserve("alice"); testkit.Queued(r) == nil {
			t.Fatalf("alice: %d %s", r.StatusCode(), r.Body)
		}
		w.clock.Set(winOpens)
		if st := w.next().status(); st.Phase != generated.StatusPhaseOpen || st.Held != 1 {
			t.Fatalf("at the opening: %+v", st)
		}
		wantReplay(t, first, w.initialize(body, "Idempotency-Key", "schedule-1"))
		// The replay changed nothing: the sale is still open, alice holds.
		if st := w.next().status(); st.Phase != generated.StatusPhaseOpen || st.Held != 1 {
			t.Fatalf("after the replay: %+v", st)
		}
		userAs[generated.UserHeld](w.next(), "alice")
	})
}
