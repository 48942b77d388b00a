package httpapi_test

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestSaleWindowEvents: a shopper's stream tells the pre-queue (state
// queued, then queued again when the opening moves), the draw's place
// (drawn: a hold or a place in line) and the close (closed: a holder keeps
// the hold, the line is gone). The streams are on the first server; the
// changes are made on the next.
func TestSaleWindowEvents(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(epoch), Sale: sale.Config{HoldTTL: holdTTL}}, func(t *testing.T, s *testkit.Stack) {
		w := newWindowStack(t, s)
		statusOf(t, w.initialize(windowBody(1, winOpens, winCloses, false)))
		users := []string{"ann", "ben", "cat"}
		streams := map[string]*sseStream{}
		for _, u := range users {
			if r := w.next().reserve(u); testkit.Queued(r) == nil {
				t.Fatalf("%s: %d %s", u, r.StatusCode(), r.Body)
			}
			streams[u] = w.hs[0].stream(u)
		}
		for _, u := range users {
			f, v := streams[u].expect("state")
			if q, ok := v.(generated.UserQueued); !ok || !q.OpensAt.Equal(winOpens) {
				t.Fatalf("%s's first event: %s", u, f.data)
			}
		}

		// The opening moves: everyone queued hears of it.
		opens := winOpens.Add(time.Minute)
		statusOf(t, w.initialize(windowBody(1, opens, time.Time{}, false)))
		for _, u := range users {
			f, v := streams[u].expect("queued")
			if q, ok := v.(generated.UserQueued); !ok || !q.OpensAt.Equal(opens) {
				t.Fatalf("%s after the opening moved: %s", u, f.data)
			}
		}

		// The draw, made by the first request some seconds after the
		// opening: each hears of their place, the hold counting from the
		// opening.
		w.clock.Set(opens.Add(7 * time.Second))
		st := w.next().status()
		order := sale.DrawOrder(revealed(t, st, *st.DrawCommitment), users)
		for i, u := range order {
			f, v := streams[u].expect("drawn")
			switch got := v.(type) {
			case generated.UserHeld:
				if i != 0 || !got.Reservation.CreatedAt.Equal(opens) || !got.Reservation.ExpiresAt.Equal(opens.Add(holdTTL)) {
					t.Fatalf("%s, drawn %d, gets a hold: %s", u, i+1, f.data)
				}
			case generated.UserWaiting:
				if got.WaitlistPosition != int64(i) {
					t.Fatalf("%s, drawn %d, gets place %d: %s", u, i+1, got.WaitlistPosition, f.data)
				}
			default:
				t.Fatalf("%s drawn: %s", u, f.data)
			}
		}

		// The close: the holder keeps the hold, the line is gone.
		w.clock.Set(winCloses)
		if st := w.next().status(); st.Phase != generated.StatusPhaseClosed {
			t.Fatalf("at the close: %+v", st)
		}
		for i, u := range order {
			f, v := streams[u].expect("closed")
			_, held := v.(generated.UserHeld)
			_, none := v.(generated.UserNone)
			if (i == 0 && !held) || (i > 0 && !none) {
				t.Fatalf("%s, drawn %d, at the close: %s", u, i+1, f.data)
			}
		}
	})
}
