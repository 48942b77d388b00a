package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
)

// servers opens stores on one shared journal, as servers on one database.
func servers(j *journal) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		t.Helper()
		s, err := Open(t.Context(), shared{j}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// twoServers opens two stores on a fresh shared journal, closed when t ends.
func twoServers(t *testing.T) (*journal, sale.Store, sale.Store) {
	j := &journal{}
	open := servers(j)
	a, b := open(t, sale.Config{}), open(t, sale.Config{})
	t.Cleanup(func() { a.Close(); b.Close() })
	return j, a, b
}

// TestConformanceTwoServers runs the whole suite on two stores sharing a
// journal, each call going to the next in turn: every rule holds across
// servers as it does in one, without PostgreSQL (its package runs the same
// over a real database).
func TestConformanceTwoServers(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cfg sale.Config) sale.Store {
		return conformance.Servers(servers(&journal{keyTTL: cfg.KeyTTL, maxKeys: cfg.MaxKeys}), 2)(t, cfg)
	})
}

func TestLinearizableTwoServers(t *testing.T) {
	conformance.LinearizableAcross(t, func(*testing.T) conformance.Factory { return servers(&journal{}) }, 100)
}

// TestReadBarrier: a store that made no change since another store's
// commit still answers a read with that commit in it. Without the barrier,
// it would answer from its own, older, state: a read that travels back in
// time once the client moves between servers.
func TestReadBarrier(t *testing.T) {
	ctx := t.Context()
	_, a, b := twoServers(t)
	if _, err := sale.Initialize(ctx, a, 1, false); err != nil {
		t.Fatal(err)
	}
	res, err := sale.Reserve(ctx, a, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 { // the watch must not be what makes it pass
		u, err := b.User(ctx, "alice")
		if err != nil || u.State != sale.Holding || u.Reservation == nil || u.Reservation.ID != res.Reservation.ID {
			t.Fatalf("the other store says alice is %+v (%v), right after her hold %s", u, err, res.Reservation.ID)
		}
		if _, err := sale.Cancel(ctx, a, res.Reservation.ID); err != nil {
			t.Fatal(err)
		}
		if u, err := b.User(ctx, "alice"); err != nil || u.State != sale.None {
			t.Fatalf("after her cancel, the other store says alice is %+v (%v)", u, err)
		}
		if res, err = sale.Reserve(ctx, a, "alice"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWatchFeedsOthersCommits: a subscriber on one store hears of changes
// made through another, in order, without that store making or reading
// anything itself.
func TestWatchFeedsOthersCommits(t *testing.T) {
	ctx := t.Context()
	_, a, b := twoServers(t)
	sub := sale.Subscribe(ctx, b, 0)
	if _, err := sale.Initialize(ctx, a, 1, false); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := sale.Reserve(ctx, a, u); err != nil {
			t.Fatal(err)
		}
	}
	want := []sale.EventKind{sale.EventInitialized, sale.EventGranted, sale.EventJoined}
	for i, kind := range want {
		select {
		case e, ok := <-sub.C():
			if !ok || e.Kind != kind || e.Seq != uint64(i+1) {
				t.Fatalf("event %d at the other store: %+v (open %v, err %v), want %s #%d", i, e, ok, sub.Err(), kind, i+1)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the other store's feed did not deliver event %d (%s)", i+1, kind)
		}
	}
	if st := b.(*Store).Stats(); st.Followed != 3 || st.Rounds == 0 {
		t.Fatalf("the other store's stats: %+v; want 3 events followed, in at least one round", st)
	}
}

// TestBarrierUnreachable: when the journal's head cannot be read, a read
// is ErrUnavailable (a 503), not an answer from state that may be old, and
// Health says so; once it can be read again, both recover.
func TestBarrierUnreachable(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := servers(j)(t, sale.Config{})
	t.Cleanup(func() { s.Close() })
	if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
		t.Fatal(err)
	}
	down := errors.New("connection refused")
	j.mu.Lock()
	j.head = down
	j.mu.Unlock()
	if _, err := s.Status(ctx); !errors.Is(err, sale.ErrUnavailable) || !errors.Is(err, down) {
		t.Fatalf("status with the journal down: %v, want ErrUnavailable wrapping %v", err, down)
	}
	if err := s.(*Store).Health(ctx); !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("health with the journal down: %v", err)
	}
	j.mu.Lock()
	j.head = nil
	j.mu.Unlock()
	if st, err := s.Status(ctx); err != nil || st.Total != 1 {
		t.Fatalf("status once the journal is back: %+v, %v", st, err)
	}
	if err := s.(*Store).Health(ctx); err != nil {
		t.Fatalf("health once the journal is back: %v", err)
	}
}

// TestReadWaitsForABatchInFlight: a read on one server while another's
// batch has decided but not yet committed waits for that commit. Answering
// at once, from before the batch, would be a read placed after decisions
// whose clock readings (created_at) come before it, yet not seeing them:
// the two-server linearizability check found exactly that before reads
// shared the batches' lock.
func TestReadWaitsForABatchInFlight(t *testing.T) {
	ctx := t.Context()
	j, a, b := twoServers(t)
	if _, err := sale.Initialize(ctx, a, 1, false); err != nil {
		t.Fatal(err)
	}
	commits := j.commit.Load()
	release := j.stall(t)
	reserved := make(chan error, 1)
	go func() { _, err := sale.Reserve(ctx, a, "alice"); reserved <- err }()
	waitFor(t, func() bool { return j.commit.Load() > commits }) // decided, committing

	read := make(chan sale.Status, 1)
	go func() {
		st, err := b.Status(ctx)
		if err != nil {
			t.Errorf("status: %v", err)
		}
		read <- st
	}()
	select {
	case st := <-read:
		t.Fatalf("a read answered %+v while a batch decided before it had not committed", st)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-reserved; err != nil {
		t.Fatal(err)
	}
	if st := <-read; st.Held != 1 {
		t.Fatalf("the read answered %+v after the batch committed; want alice's hold in it", st)
	}
}

// TestUserAsOf: a read as of an event the store has applied is answered
// from memory, with no catch-up round (an event stream woken by the feed
// reads so): it answers while another server's commit is in progress,
// which a catch-up round waits for. One as of an event the store has not
// applied catches up first, so that it still includes that event.
func TestUserAsOf(t *testing.T) {
	ctx := t.Context()
	j, a, b := twoServers(t)
	sa, sb := a.(*Store), b.(*Store)
	if _, err := sale.Initialize(ctx, a, 1, false); err != nil {
		t.Fatal(err)
	}
	for range 100 { // the watch must not be what makes it pass
		res, err := sale.Reserve(ctx, a, "alice")
		if err != nil {
			t.Fatal(err)
		}
		seq := sa.applied()
		u, err := sb.UserAsOf(ctx, "alice", seq)
		if err != nil || u.State != sale.Holding || u.Reservation == nil || u.Reservation.ID != res.Reservation.ID {
			t.Fatalf("as of event %d, the other store says alice is %+v (%v), want her hold %s", seq, u, err, res.Reservation.ID)
		}
		if _, err := sale.Cancel(ctx, a, res.Reservation.ID); err != nil {
			t.Fatal(err)
		}
	}

	seq := sa.applied()
	if _, err := sb.UserAsOf(ctx, "alice", seq); err != nil {
		t.Fatal(err)
	}
	release := j.stall(t)
	commits := j.commit.Load()
	committed := make(chan error, 1)
	go func() { _, err := sale.Reserve(ctx, a, "bob"); committed <- err }()
	for j.commit.Load() == commits { // until bob's commit has the journal
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if u, err := sb.UserAsOf(short, "alice", seq); err != nil || u.State != sale.None {
		t.Fatalf("as of applied event %d, during another server's commit: %+v (%v), want an answer from memory", seq, u, err)
	}
	if _, err := sb.User(short, "alice"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a read as of now answered during another server's commit (%v): the test proves nothing", err)
	}
	release()
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
}
