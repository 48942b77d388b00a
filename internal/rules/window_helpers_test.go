package rules

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// The window's rules, tested on a Sale with no store: a known seed makes
// the draw predictable, and every test replays the events it emitted into
// a fresh Sale, as a durable store does at start, to check that the
// events alone rebuild the same sale.

const windowTTL = time.Minute

// seedOf is the seed a Sale made with seedsOf(b) draws with.
func seedOf(b byte) []byte { return bytes.Repeat([]byte{b}, sale.SeedSize) }

// seedsOf is a source of seeds that gives seedOf(b), then seedOf(b+1), ...
func seedsOf(b byte) io.Reader {
	var all []byte
	for i := range 8 {
		all = append(all, seedOf(b+byte(i))...)
	}
	return bytes.NewReader(all)
}

// windowSale is a Sale whose holds last windowTTL, whose seeds come from
// seeds, and which keeps every event it emits for replayed to check.
type windowSale struct {
	*Sale
	t      *testing.T
	events []sale.Event
}

func newWindowSale(t *testing.T, seeds io.Reader) *windowSale {
	t.Helper()
	s, err := New(sale.Config{HoldTTL: windowTTL, Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	return &windowSale{Sale: s, t: t}
}

// take records the events decided since the last take and returns them.
func (w *windowSale) take() []sale.Event {
	e := slices.Clone(w.Take())
	w.events = append(w.events, e...)
	return e
}

func (w *windowSale) init(now time.Time, total int64, reset bool, win sale.Window) sale.Status {
	w.t.Helper()
	st, err := w.InitializeWindow(now, total, reset, win)
	if err != nil {
		w.t.Fatalf("initialize %d (reset %v) with %+v at %v: %v", total, reset, win, now, err)
	}
	w.take()
	return st
}

// queue reserves for user before the opening, expecting the pre-queue.
func (w *windowSale) queue(now time.Time, user string, again bool) {
	w.t.Helper()
	res, err := w.Reserve(now, user)
	if err != nil {
		w.t.Fatalf("reserve %s: %v", user, err)
	}
	if !res.Queued || res.AlreadyWaiting != again || res.Reservation != nil || res.Position != 0 ||
		!res.OpensAt.Equal(w.window.opensAt) || res.DrawCommitment != sale.Commitment(w.window.seed) {
		w.t.Fatalf("reserve %s before the opening: %+v, want queued (already %v) for the draw at %v", user, res, again, w.window.opensAt)
	}
	if u := w.User(user); u.State != sale.Queued || !u.OpensAt.Equal(w.window.opensAt) ||
		u.DrawCommitment != res.DrawCommitment || u.Phase != sale.PhaseScheduled {
		w.t.Fatalf("user %s after queueing: %+v", user, u)
	}
	w.take()
}

// order is the sale's line after the draw, holders first (in the order
// their holds were given by the events), then the line by position.
func (w *windowSale) order(users []string) []string {
	w.t.Helper()
	var got []string
	for _, e := range w.events {
		if e.Kind == sale.EventPromoted && slices.Contains(users, e.UserID) && !slices.Contains(got, e.UserID) {
			got = append(got, e.UserID)
		}
	}
	line := make([]string, len(users))
	n := 0
	for _, u := range users {
		if st := w.User(u); st.State == sale.Waiting {
			if st.Position < 1 || int(st.Position) > len(users) || line[st.Position-1] != "" {
				w.t.Fatalf("%s waits at %d", u, st.Position)
			}
			line[st.Position-1] = u
			n++
		}
	}
	return append(got, line[:n]...)
}

// replayed checks that the events taken so far rebuild the sale: the same
// status, the same users, the same entrants.
func (w *windowSale) replayed(users []string) {
	w.t.Helper()
	r, err := New(sale.Config{HoldTTL: windowTTL})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range w.events {
		if err := r.Apply(e); err != nil {
			w.t.Fatalf("replay: %v", err)
		}
	}
	if got, want := r.Status(), w.Status(); got != want {
		w.t.Fatalf("replayed status %+v, want %+v", got, want)
	}
	for _, u := range users {
		got, want := r.User(u), w.User(u)
		if got.State != want.State || got.Position != want.Position || got.Phase != want.Phase ||
			!got.OpensAt.Equal(want.OpensAt) || got.DrawCommitment != want.DrawCommitment ||
			(got.Reservation == nil) != (want.Reservation == nil) || got.Reservation != nil && *got.Reservation != *want.Reservation {
			w.t.Fatalf("replayed user %s: %+v, want %+v", u, got, want)
		}
	}
	if got, want := r.Entrants(), w.Entrants(); !slices.Equal(got, want) {
		w.t.Fatalf("replayed entrants %v, want %v", got, want)
	}
}

func kinds(events []sale.Event) []sale.EventKind {
	k := make([]sale.EventKind, len(events))
	for i, e := range events {
		k[i] = e.Kind
	}
	return k
}

func names(prefix string, n int) []string {
	u := make([]string, n)
	for i := range u {
		u[i] = prefix + strconv.Itoa(i)
	}
	return u
}
