package live_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
)

var epoch = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const holdTTL = 5 * time.Minute

// fixture is a memory store and a hub on one fake clock.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *clocktest.Clock
	store sale.Store
	hub   *live.Hub
}

func newFixture(t *testing.T, cfg live.Config) *fixture {
	t.Helper()
	clock := clocktest.New(epoch)
	st, err := memory.New(sale.Config{HoldTTL: holdTTL, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store, cfg.Clock = st, clock
	hub, err := live.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	return &fixture{t: t, ctx: context.Background(), clock: clock, store: st, hub: hub}
}

// sale starts a sale of units and has users reserve, in order.
func (f *fixture) sale(units int64, users ...string) map[string]string {
	f.t.Helper()
	if _, err := sale.Initialize(f.ctx, f.store, units, true); err != nil {
		f.t.Fatal(err)
	}
	holds := map[string]string{}
	for _, u := range users {
		res, err := sale.Reserve(f.ctx, f.store, u)
		if err != nil {
			f.t.Fatal(err)
		}
		if res.Reservation != nil {
			holds[u] = res.Reservation.ID
		}
	}
	return holds
}

func (f *fixture) cancel(id string) {
	f.t.Helper()
	if _, err := sale.Cancel(f.ctx, f.store, id); err != nil {
		f.t.Fatal(err)
	}
}

// watcher reads one stream's messages into a channel, as the HTTP layer
// does, until the stream ends.
type watcher struct {
	t    *testing.T
	user string
	c    chan live.Message
	err  chan error
}

func (f *fixture) watch(user string) *watcher {
	f.t.Helper()
	s, err := f.hub.Open(user)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	w := &watcher{t: f.t, user: user, c: make(chan live.Message, 64), err: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer s.Close()
		for {
			m, err := s.Next(ctx)
			if err != nil {
				w.err <- err
				return
			}
			w.c <- m
		}
	}()
	f.t.Cleanup(func() { cancel(); <-done })
	return w
}

// next is the next message, or a failure after a few seconds.
func (w *watcher) next() live.Message {
	w.t.Helper()
	select {
	case m := <-w.c:
		return m
	case err := <-w.err:
		w.t.Fatalf("%s: stream ended: %v", w.user, err)
	case <-time.After(5 * time.Second):
		w.t.Fatalf("%s: no message in 5s", w.user)
	}
	return live.Message{}
}

// expect reads the next message, past heartbeats unless one is expected
// (moving the fake clock by minutes sends some), and checks its event name.
func (w *watcher) expect(event string) live.Message {
	w.t.Helper()
	m := w.next()
	for m.Event == "" && event != "" {
		m = w.next()
	}
	if m.Event != event {
		w.t.Fatalf("%s: event %q (%+v), want %q", w.user, m.Event, m.State, event)
	}
	return m
}

// quiet checks that no message comes for a while.
func (w *watcher) quiet() {
	w.t.Helper()
	select {
	case m := <-w.c:
		w.t.Fatalf("%s: unexpected event %q (%+v)", w.user, m.Event, m.State)
	case <-time.After(100 * time.Millisecond):
	}
}

// armed waits until at least n timers wait on the fake clock, so that a
// test moves the clock only once the code under test is waiting on it.
func (f *fixture) armed(n int) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.clock.Waiters() < n {
		if time.Now().After(deadline) {
			f.t.Fatalf("%d timers armed, want %d", f.clock.Waiters(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStateAtOnceThenEachChange(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(1, "alice", "bob")
	bob := f.watch("bob")
	m := bob.expect("state")
	if m.State.State != sale.Waiting || m.State.Position != 1 || m.ID == 0 {
		t.Fatalf("first message %+v, want bob waiting at 1 with an id", m)
	}
	alice := f.watch("alice")
	if m := alice.expect("state"); m.State.State != sale.Holding {
		t.Fatalf("alice: %+v, want held", m.State)
	}

	f.cancel(holds["alice"])
	if m := alice.expect("cancelled"); m.State.State != sale.None || m.State.Reservation.Status != sale.Cancelled {
		t.Fatalf("alice after cancel: %+v", m.State)
	}
	p := bob.expect("promoted")
	if p.State.State != sale.Holding || p.ID <= m.ID {
		t.Fatalf("bob promoted: %+v (id %d after %d)", p.State, p.ID, m.ID)
	}
	if _, err := sale.Confirm(f.ctx, f.store, p.State.Reservation.ID); err != nil {
		t.Fatal(err)
	}
	bob.expect("confirmed")

	// Joining, and leaving, the line.
	carol := f.watch("carol")
	if m := carol.expect("state"); m.State.State != sale.None {
		t.Fatalf("carol: %+v, want none", m.State)
	}
	if _, err := sale.Reserve(f.ctx, f.store, "carol"); err != nil {
		t.Fatal(err)
	}
	if m := carol.expect("joined"); m.State.Position != 1 {
		t.Fatalf("carol joined at %d, want 1", m.State.Position)
	}
	if err := f.store.Leave(f.ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	carol.expect("left")
	alice.quiet()
}

func TestHeldFromStockAndExpired(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(2)
	dave := f.watch("dave")
	dave.expect("state")
	if _, err := sale.Reserve(f.ctx, f.store, "dave"); err != nil {
		t.Fatal(err)
	}
	dave.expect("held")
	f.clock.Advance(holdTTL)
	if n, err := f.store.Expire(f.ctx); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	if m := dave.expect("expired"); m.State.Reservation == nil || m.State.Reservation.Status != sale.Expired {
		t.Fatalf("dave: %+v", m.State)
	}
}

// Positions are sent at once after a quiet time, then at most one per
// Coalesce: the second move within it is held back until its end, and
// sent as one event with the newest position.
func TestPositionsCoalesced(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(3, "h1", "h2", "h3", "u1", "u2", "u3", "u4")
	u4 := f.watch("u4")
	u4.expect("state")

	f.cancel(holds["h1"])
	if m := u4.expect("position"); m.State.Position != 3 {
		t.Fatalf("position %d, want 3", m.State.Position)
	}
	waiters := f.clock.Waiters()
	f.cancel(holds["h2"])
	f.cancel(holds["h3"])
	f.armed(waiters + 1) // the held-back position's timer
	u4.quiet()
	f.clock.Advance(live.Coalesce)
	if m := u4.expect("position"); m.State.Position != 1 {
		t.Fatalf("position %d, want 1 (two moves in one event)", m.State.Position)
	}
}

// A promotion is never held back behind the coalescing of positions.
func TestPromotionNotCoalesced(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(2, "h1", "h2", "u1", "u2")
	u2 := f.watch("u2")
	u2.expect("state")
	f.cancel(holds["h1"]) // u1 promoted, u2 moves to 1
	u2.expect("position")
	f.cancel(holds["h2"]) // u2 promoted within Coalesce
	u2.expect("promoted")
}

func TestHeartbeatAfterSilence(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(1)
	w := f.watch("erin")
	w.expect("state")
	f.armed(1)
	f.clock.Advance(live.Heartbeat - time.Microsecond)
	w.quiet()
	f.clock.Advance(time.Microsecond)
	if m := w.next(); m.Event != "" {
		t.Fatalf("got %q, want a heartbeat", m.Event)
	}
}

func TestResetTellsEveryone(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(1, "alice", "bob")
	alice, bob, zed := f.watch("alice"), f.watch("bob"), f.watch("zed")
	for _, w := range []*watcher{alice, bob, zed} {
		w.expect("state")
	}
	if _, err := sale.Initialize(f.ctx, f.store, 5, true); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*watcher{alice, bob, zed} {
		if m := w.expect("reset"); m.State.State != sale.None || m.State.Reservation != nil {
			t.Fatalf("%s after reset: %+v", w.user, m.State)
		}
	}
}

func TestStreamLimits(t *testing.T) {
	f := newFixture(t, live.Config{MaxStreams: 3, MaxPerUser: 2})
	var open []*live.Stream
	for _, u := range []string{"a", "a"} {
		s, err := f.hub.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, s)
	}
	if _, err := f.hub.Open("a"); !errors.Is(err, live.ErrUserFull) {
		t.Fatalf("third stream of a: %v, want ErrUserFull", err)
	}
	b, err := f.hub.Open("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.hub.Open("c"); !errors.Is(err, live.ErrFull) {
		t.Fatalf("fourth stream: %v, want ErrFull", err)
	}
	b.Close()
	b.Close() // twice is once
	if st := f.hub.Stats(); st.Open != 2 || st.RefusedFull != 1 || st.RefusedUser != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := f.hub.Open("c"); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	for _, s := range open {
		s.Close()
	}
	f.hub.Close()
	if _, err := f.hub.Open("d"); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(1, "alice")
	w := f.watch("alice")
	w.expect("state")
	f.hub.Close()
	select {
	case err := <-w.err:
		if !errors.Is(err, live.ErrClosed) {
			t.Fatalf("stream ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
}

// A stream nobody reads (its client stopped reading, its goroutine stuck in
// a write) holds up neither the hub nor the other streams.
func TestUnreadStreamHoldsUpNobody(t *testing.T) {
	const rounds = 50
	users := []string{"h"}
	for i := range rounds {
		users = append(users, fmt.Sprintf("p%02d", i))
	}
	users = append(users, "u", "stuck")
	f := newFixture(t, live.Config{})
	id := f.sale(1, users...)["h"]
	stuck, err := f.hub.Open("stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	u := f.watch("u")
	u.expect("state")
	for i := range rounds {
		f.cancel(id) // p<i> is promoted; u and stuck move up
		if m := u.expect("position"); m.State.Position != int64(rounds-i) {
			t.Fatalf("round %d: u at %d, want %d", i, m.State.Position, rounds-i)
		}
		st, err := f.store.User(f.ctx, fmt.Sprintf("p%02d", i))
		if err != nil || st.Reservation == nil {
			t.Fatalf("p%02d: %+v, %v", i, st, err)
		}
		id = st.Reservation.ID
		f.clock.Advance(live.Coalesce)
	}
}

// Thousands of streams, one move: every waiting stream hears of it once.
func TestThousandsOfStreams(t *testing.T) {
	const n = 3000
	f := newFixture(t, live.Config{MaxStreams: n})
	users := []string{"holder"}
	for i := range n {
		users = append(users, fmt.Sprintf("u%04d", i))
	}
	holds := f.sale(1, users...)
	var (
		mu    sync.Mutex
		got   = map[string]live.Message{}
		ready sync.WaitGroup
	)
	ready.Add(n)
	ctx, cancel := context.WithCancel(f.ctx)
	var done sync.WaitGroup
	t.Cleanup(func() { cancel(); done.Wait() })
	for _, u := range users[1:] {
		s, err := f.hub.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		done.Add(1)
		go func() {
			defer done.Done()
			defer s.Close()
			if _, err := s.Next(ctx); err != nil {
				t.Error(err)
				return
			}
			ready.Done()
			m, err := s.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			got[u] = m
			mu.Unlock()
		}()
	}
	ready.Wait()
	f.cancel(holds["holder"])
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams heard of the move", k, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, u := range users[1:] {
		m := got[u]
		switch {
		case i == 0 && m.Event != "promoted":
			t.Fatalf("%s: %q, want promoted", u, m.Event)
		case i > 0 && (m.Event != "position" || m.State.Position != int64(i)):
			t.Fatalf("%s: %q at %d, want position %d", u, m.Event, m.State.Position, i)
		}
	}
}
