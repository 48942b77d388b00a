package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
)

// open returns a store over j whose failures back off for only a moment.
func open(t *testing.T, j *journal, clock sale.Clock) *Store {
	t.Helper()
	s, err := Open(t.Context(), j, sale.Config{HoldTTL: time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s.retryAfter = 10 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformanceOverJournal runs the whole suite through the writer, the
// batching and the rebuild, with a journal that cannot fail: what any
// durable backend adds to the engine is only where the events go.
func TestConformanceOverJournal(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cfg sale.Config) sale.Store {
		s, err := Open(t.Context(), &journal{keyTTL: cfg.KeyTTL, maxKeys: cfg.MaxKeys}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestFailedCommitChangesNothing: every call of a batch whose commit fails
// is told ErrUnavailable, nothing of it is in the feed or visible, and the
// store serves again, from the journal's state, once the journal recovers.
func TestFailedCommitChangesNothing(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, j, clock)
	if _, err := sale.Initialize(ctx, s, 2, false); err != nil {
		t.Fatal(err)
	}
	a, err := sale.Reserve(ctx, s, "alice")
	if err != nil {
		t.Fatal(err)
	}
	seq := s.sale.Seq()

	j.setFail(errors.New("disk full"))
	var wg sync.WaitGroup
	for _, u := range []string{"bob", "carol", "dave"} {
		wg.Go(func() {
			if _, err := sale.Reserve(ctx, s, u); !errors.Is(err, sale.ErrUnavailable) {
				t.Errorf("reserve %s while the journal fails: %v, want ErrUnavailable", u, err)
			}
		})
	}
	wg.Wait()
	// The state in memory held the failed batch's changes; rebuilt at once
	// from the journal, it answers reads with committed state meanwhile.
	if st, err := s.Status(ctx); err != nil || st.Held != 1 || st.Available != 1 {
		t.Fatalf("status while the journal fails: %+v, %v; want alice's hold alone", st, err)
	}
	if events, _, err := s.Events(ctx, seq, 10); err != nil || len(events) != 0 {
		t.Fatalf("the feed after failed commits: %v, %v; want nothing new", events, err)
	}

	for _, u := range []string{"bob", "carol", "dave"} {
		if us, err := s.User(ctx, u); err != nil || us.State != sale.None {
			t.Fatalf("%s after a failed reserve: %+v, %v; want none", u, us, err)
		}
	}
	if r, err := s.Reservation(ctx, a.Reservation.ID); err != nil || r.Status != sale.Held {
		t.Fatalf("alice's hold after the failure: %+v, %v", r, err)
	}

	// Once the journal recovers, changes are taken again when the back-off
	// has passed on the store's clock, and not before.
	j.setFail(nil)
	if _, err := sale.Reserve(ctx, s, "bob"); !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("reserve during the back-off: %v, want ErrUnavailable", err)
	}
	clock.Advance(s.retryAfter)
	if res, err := sale.Reserve(ctx, s, "bob"); err != nil || res.Reservation == nil {
		t.Fatalf("reserve after the journal recovered: %+v, %v", res, err)
	}
	if st, err := s.Status(ctx); err != nil || st != (sale.Status{Initialized: true, Total: 2, Held: 2, Phase: sale.PhaseOpen}) {
		t.Fatalf("status after recovery: %+v, %v", st, err)
	}
	if got := s.Stats().Failures; got == 0 {
		t.Fatal("no failure counted")
	}
}

// TestBackOffAfterFailure: right after a failed commit the store does not
// touch the journal again until retryAfter has passed.
func TestBackOffAfterFailure(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	s.retryAfter = time.Hour
	if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
		t.Fatal(err)
	}
	j.setFail(errors.New("database down"))
	for range 20 {
		if _, err := sale.Reserve(ctx, s, "alice"); !errors.Is(err, sale.ErrUnavailable) {
			t.Fatalf("reserve: %v, want ErrUnavailable", err)
		}
	}
	if n := j.commit.Load(); n != 2 { // the initialize, then one failed try
		t.Fatalf("%d commits tried, want 2: calls during the back-off must not reach the journal", n)
	}
}

// TestGroupCommit: calls that arrive while a commit is in progress are all
// decided and committed together in the next one.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 1000, false); err != nil {
		t.Fatal(err)
	}
	release := j.stall(t)
	const n = 50
	var wg sync.WaitGroup
	reserve := func(i int) {
		wg.Go(func() {
			if _, err := sale.Reserve(ctx, s, fmt.Sprint("user-", i)); err != nil {
				t.Errorf("reserve: %v", err)
			}
		})
	}
	// One call is in the stalled commit; the others queue behind it.
	reserve(0)
	waitFor(t, func() bool { return j.commit.Load() == 2 })
	for i := 1; i < n; i++ {
		reserve(i)
	}
	waitFor(t, func() bool { return s.Stats().Queued == n-1 })
	release()
	wg.Wait()
	st := s.Stats()
	if st.Calls != n+1 || st.Batches != 3 || st.MaxBatch != n-1 {
		t.Fatalf("stats %+v: want %d calls in 3 batches (initialize, the first reserve, the other %d together)", st, n+1, n-1)
	}
}

// TestGiveUpWhileQueued: a caller whose context ends while its call waits
// gets its context's error at once, and a call nobody waits for any more is
// not decided.
func TestGiveUpWhileQueued(t *testing.T) {
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(t.Context(), s, 10, false); err != nil {
		t.Fatal(err)
	}
	release := j.stall(t)
	go sale.Reserve(t.Context(), s, "first") // stalls in the commit
	waitFor(t, func() bool { return j.commit.Load() == 2 })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := sale.Reserve(ctx, s, "quitter"); done <- err }()
	waitFor(t, func() bool { return s.Stats().Queued == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve given up while queued: %v", err)
	}
	release()
	waitFor(t, func() bool { return s.Stats().Queued == 0 })
	if u, err := s.User(t.Context(), "quitter"); err != nil || u.State != sale.None {
		t.Fatalf("quitter: %+v, %v; a call given up before it was decided must not be made", u, err)
	}
}

// TestCloseAnswersWaitingCalls: Close lets the batch in progress finish and
// answers the calls still queued with ErrUnavailable, never leaving one
// waiting.
func TestCloseAnswersWaitingCalls(t *testing.T) {
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(t.Context(), s, 10, false); err != nil {
		t.Fatal(err)
	}
	release := j.stall(t)
	errs := make(chan error, 5)
	go func() { _, err := sale.Reserve(t.Context(), s, "u0"); errs <- err }()
	waitFor(t, func() bool { return j.commit.Load() == 2 })
	for i := 1; i < 5; i++ {
		go func() { _, err := sale.Reserve(t.Context(), s, fmt.Sprint("u", i)); errs <- err }()
	}
	waitFor(t, func() bool { return s.Stats().Queued == 4 })
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	// Close must wait for the batch in progress, not cut it off.
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a commit was in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	ok, unavailable := 0, 0
	for range 5 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, sale.ErrUnavailable):
			unavailable++
		default:
			t.Fatalf("reserve during close: %v", err)
		}
	}
	if ok+unavailable != 5 || ok < 1 {
		t.Fatalf("%d answered, %d unavailable: the batch in progress must finish", ok, unavailable)
	}
	if _, err := sale.Reserve(t.Context(), s, "late"); !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("reserve after close: %v", err)
	}
}

// TestTwoStoresOneJournal: two stores sharing one journal, as two servers
// share one database, catch up on each other's events inside every batch,
// so together they never sell more than the stock and keep one line.
func TestTwoStoresOneJournal(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	a, b := open(t, j, sale.SystemClock{}), open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, a, 10, false); err != nil {
		t.Fatal(err)
	}
	var holds, waits atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			res, err := sale.Reserve(ctx, s, fmt.Sprint("user-", i))
			switch {
			case err != nil:
				t.Errorf("reserve: %v", err)
			case res.Reservation != nil:
				holds.Add(1)
			default:
				waits.Add(1)
			}
		})
	}
	wg.Wait()
	if holds.Load() != 10 || waits.Load() != 30 {
		t.Fatalf("%d holds and %d places in line from two stores, want 10 and 30", holds.Load(), waits.Load())
	}
	// Each learns of the other's changes in its next batch: asked again for a
	// user the other served, it knows the answer.
	for _, c := range []struct {
		s    *Store
		user string
	}{{b, "user-0"}, {a, "user-1"}} {
		res, err := sale.Reserve(ctx, c.s, c.user)
		if !(errors.Is(err, sale.ErrAlreadyReserved) || err == nil && res.AlreadyWaiting) {
			t.Fatalf("%s again, at the other store: %+v, %v", c.user, res, err)
		}
	}
	sa, errA := a.Status(ctx)
	sb, errB := b.Status(ctx)
	want := sale.Status{Initialized: true, Total: 10, Held: 10, Waiting: 30, Phase: sale.PhaseOpen}
	if errA != nil || errB != nil || sa != want || sb != want {
		t.Fatalf("statuses %+v (%v) and %+v (%v), want %+v", sa, errA, sb, errB, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFeedRing: the feed keeps the newest events in a circular buffer,
// starts again at a reset, and says when what a consumer asks for is gone.
func TestFeedRing(t *testing.T) {
	f := &feed{keep: 4}
	ev := func(seq uint64, kind sale.EventKind) sale.Event { return sale.Event{Seq: seq, Kind: kind} }
	seqs := func(events []sale.Event) []uint64 {
		var out []uint64
		for _, e := range events {
			out = append(out, e.Seq)
		}
		return out
	}
	for seq := uint64(1); seq <= 6; seq++ { // wraps: 3..6 kept
		f.add([]sale.Event{ev(seq, sale.EventJoined)})
	}
	if got, _, _, ok := f.page(2, 10, true); !ok || !slices.Equal(seqs(got), []uint64{3, 4, 5, 6}) {
		t.Fatalf("after 2: %v, %v", seqs(got), ok)
	}
	if got, _, _, ok := f.page(4, 1, true); !ok || !slices.Equal(seqs(got), []uint64{5}) {
		t.Fatalf("after 4, one: %v, %v", seqs(got), ok)
	}
	if _, _, _, ok := f.page(1, 10, true); ok {
		t.Fatal("events after 1 are gone, but the feed served them")
	}
	if _, _, _, ok := f.page(7, 10, true); ok {
		t.Fatal("the feed served events after its newest")
	}
	_, more, _, _ := f.page(6, 10, true)
	f.add([]sale.Event{ev(7, sale.EventJoined), ev(8, sale.EventReset), ev(9, sale.EventInitialized)})
	select {
	case <-more:
	default:
		t.Fatal("adding did not wake a waiting consumer")
	}
	// After a reset, a consumer from before it starts at the reset; the
	// outbox, owed every event, is told they are not all here.
	if got, _, _, ok := f.page(1, 10, true); !ok || !slices.Equal(seqs(got), []uint64{8, 9}) {
		t.Fatalf("after 1, past a reset: %v, %v", seqs(got), ok)
	}
	if _, _, _, ok := f.page(1, 10, false); ok {
		t.Fatal("the events before the reset are not kept, but the feed served the outbox past them")
	}
	if got, _, _, ok := f.page(7, 10, false); !ok || !slices.Equal(seqs(got), []uint64{8, 9}) {
		t.Fatalf("the outbox after 7: %v, %v", seqs(got), ok)
	}
	for seq := uint64(10); seq <= 13; seq++ { // wraps again: 10..13 kept
		f.add([]sale.Event{ev(seq, sale.EventJoined)})
	}
	if got, _, _, ok := f.page(9, 10, true); !ok || !slices.Equal(seqs(got), []uint64{10, 11, 12, 13}) {
		t.Fatalf("after 9: %v, %v", seqs(got), ok)
	}
	if _, _, _, ok := f.page(8, 10, true); ok {
		t.Fatal("the reset was overwritten, but a consumer before it was served")
	}
}

// TestCommitMadeButReportedFailed: a database that commits and then loses
// the connection reports a failure for a change it made. The callers are
// told 503 (their outcome is unknown to them), and the rebuilt state and
// the feed both have the change, the feed without a gap.
//
// A commit reported failed that was made is found by the store, which
// answers as if nothing had gone wrong; the feed has it once.
func TestCommitMadeButReportedFailed(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 5, false); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	j.fail, j.lost = errors.New("connection lost after commit"), true
	j.mu.Unlock()
	// The store finds the batch in the journal: the answer stands.
	if res, err := sale.Reserve(ctx, s, "alice"); err != nil || res.Reservation == nil {
		t.Fatalf("reserve whose commit was made but reported failed: %+v, %v; want the hold", res, err)
	}
	j.setFail(nil)
	if u, err := s.User(ctx, "alice"); err != nil || u.State != sale.Holding {
		t.Fatalf("alice after a commit that was made: %+v, %v; want holding", u, err)
	}
	waitFor(t, func() bool { _, err := sale.Reserve(ctx, s, "bob"); return err == nil })
	var all []sale.Event
	for {
		page, _, err := s.Events(ctx, uint64(len(all)), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
	}
	kinds := []sale.EventKind{}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: the feed has a gap", i, e.Seq)
		}
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []sale.EventKind{sale.EventInitialized, sale.EventGranted, sale.EventGranted}) {
		t.Fatalf("feed %v", kinds)
	}
}

// TestCommitOutcomeUnknown: a commit fails and the journal is gone before
// the store can ask whether it was made: the answer is ErrUnavailable
// wrapping ErrOutcomeUnknown, so the client knows to look before retrying;
// a commit refused while the journal still answers is plain ErrUnavailable.
func TestCommitOutcomeUnknown(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 5, false); err != nil {
		t.Fatal(err)
	}
	j.setFail(errors.New("disk full"))
	_, err := sale.Reserve(ctx, s, "alice")
	if !errors.Is(err, sale.ErrUnavailable) || errors.Is(err, sale.ErrOutcomeUnknown) {
		t.Fatalf("reserve refused by a journal that still answers: %v; want ErrUnavailable, outcome known", err)
	}
	j.mu.Lock()
	j.fail, j.cut = errors.New("connection reset"), errors.New("connection refused")
	j.mu.Unlock()
	waitFor(t, func() bool {
		_, err = sale.Reserve(ctx, s, "bob")
		return !errors.Is(err, sale.ErrUnavailable) || errors.Is(err, sale.ErrOutcomeUnknown) || err == nil
	})
	if !errors.Is(err, sale.ErrUnavailable) || !errors.Is(err, sale.ErrOutcomeUnknown) {
		t.Fatalf("reserve whose commit failed with the journal gone: %v; want ErrUnavailable wrapping ErrOutcomeUnknown", err)
	}
	j.mu.Lock()
	j.fail, j.cut, j.begin = nil, nil, nil
	j.mu.Unlock()
	waitFor(t, func() bool { _, err := sale.Reserve(ctx, s, "bob"); return err == nil })
	if u, err := s.User(ctx, "alice"); err != nil || u.State != sale.None {
		t.Fatalf("alice, whose reserve was refused: %+v, %v", u, err)
	}
}
