package rules

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// TestCloneFollowsAsTheSaleDoes: a copy made at any point of a sale (a
// pre-queue waiting for its draw, holds, a line, expired and confirmed
// holds) and fed the sale's later events through Apply ends as the sale
// does; and changing the copy leaves the sale as it was.
func TestCloneFollowsAsTheSaleDoes(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	opens := t0.Add(time.Hour)
	users := names("u", 40)
	for _, at := range []int{0, 5, 20, 35, 60} { // after how many steps the copy is made
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			w := newWindowSale(t, seedsOf(1))
			var clone *Sale
			from := 0 // the sale's events from w.events[from] on came after the copy
			step := 0
			do := func(f func()) {
				if step == at {
					clone, from = w.Clone(), len(w.events)
				}
				step++
				f()
				w.take()
			}
			do(func() { w.init(t0, 5, false, sale.Window{OpensAt: opens}) })
			for _, u := range users[:20] {
				do(func() { w.queue(t0.Add(time.Minute), u, false) })
			}
			for i, u := range users[20:] {
				do(func() {
					if _, err := w.Reserve(opens.Add(time.Duration(i)*time.Second), u); err != nil {
						t.Fatal(err)
					}
				})
			}
			for i, u := range users[:10] {
				do(func() {
					st := w.User(u)
					switch {
					case st.Reservation != nil && st.State == sale.Holding && i%2 == 0:
						if _, err := w.Confirm(opens.Add(30*time.Second), st.Reservation.ID); err != nil {
							t.Fatal(err)
						}
					case st.State == sale.Waiting:
						if err := w.Leave(opens.Add(30*time.Second), u); err != nil {
							t.Fatal(err)
						}
					}
				})
			}
			do(func() { w.Expire(opens.Add(2 * windowTTL)) })
			if clone == nil {
				clone, from = w.Clone(), len(w.events)
			}
			for _, e := range w.events[from:] {
				if err := clone.Apply(e); err != nil {
					t.Fatalf("the copy applies event %d (%s): %v", e.Seq, e.Kind, err)
				}
			}
			if got, want := clone.Status(), w.Status(); got != want {
				t.Fatalf("copy's status %+v, want %+v", got, want)
			}
			for _, u := range users {
				if got, want := userText(clone.User(u)), userText(w.User(u)); got != want {
					t.Fatalf("copy's %s: %+v, want %+v", u, got, want)
				}
			}
			if got, want := clone.Entrants(), w.Entrants(); !slices.Equal(got, want) {
				t.Fatalf("copy's entrants %v, want %v", got, want)
			}

			// The copy decides on its own: the sale does not move.
			before, beforeUsers := w.Status(), usersOf(w.Sale, users)
			for i, u := range users {
				clone.Leave(opens.Add(3*windowTTL), u)
				if r := clone.User(u).Reservation; r != nil && r.Status == sale.Held {
					_, _ = clone.Cancel(opens.Add(3*windowTTL), r.ID)
				}
				_, _ = clone.Reserve(opens.Add(3*windowTTL+time.Duration(i)), "new-"+u)
			}
			if len(clone.Take()) == 0 {
				t.Fatal("the copy decided nothing: the test changes nothing")
			}
			if got := w.Status(); got != before {
				t.Fatalf("changing the copy changed the sale's status: %+v, was %+v", got, before)
			}
			if got := usersOf(w.Sale, users); got != beforeUsers {
				t.Fatalf("changing the copy changed the sale's users:\n%s\nwas\n%s", got, beforeUsers)
			}
		})
	}
}

func usersOf(s *Sale, users []string) string {
	out := ""
	for _, u := range users {
		out += userText(s.User(u)) + "\n"
	}
	return out
}

// userText is where a user stands, their reservation's fields included.
func userText(u sale.UserState) string {
	r := u.Reservation
	u.Reservation = nil
	if r == nil {
		return fmt.Sprintf("%+v", u)
	}
	return fmt.Sprintf("%+v %+v", u, *r)
}
