package store

import (
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// TestKeyNotKeptWhenCommitFails: an outage is not an answer. A keyed call
// whose batch failed to commit left no key behind, so its retry after the
// recovery runs and makes the change.
func TestKeyNotKeptWhenCommitFails(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
		t.Fatal(err)
	}
	j.setFail(errors.New("disk full"))
	if _, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k"); !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("keyed reserve while the journal fails: %v, want ErrUnavailable", err)
	}
	j.setFail(nil)
	var a sale.Answer
	waitFor(t, func() bool {
		var err error
		a, err = s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k")
		return err == nil && a.Reserve.Reservation != nil
	})
	if a.Replayed {
		t.Fatal("the retry after the outage was answered from a key the failed batch never kept")
	}
	if len(j.keys) != 1 {
		t.Fatalf("journal keeps %d keys, want 1", len(j.keys))
	}
}

// TestKeysOnlyBatchMadeButReportedFailed: a batch whose every call was a
// conflict commits only keys; when its commit reports failure but was made,
// the store finds the key and the answers stand, and the retry replays.
func TestKeysOnlyBatchMadeButReportedFailed(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sale.Reserve(ctx, s, "alice"); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	j.fail, j.lost = errors.New("connection lost after commit"), true
	j.mu.Unlock()
	_, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k")
	if !errors.Is(err, sale.ErrAlreadyReserved) {
		t.Fatalf("keyed conflict whose commit was made but reported failed: %v, want the conflict", err)
	}
	j.setFail(nil)
	if a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k"); !errors.Is(err, sale.ErrAlreadyReserved) || !a.Replayed {
		t.Fatalf("retry: %v (replayed %v), want the conflict, replayed", err, a.Replayed)
	}
}

// TestKeyInFlight: a retry that arrives while the key's first attempt waits
// for its commit is told so at once, without queueing a second attempt;
// once the first is answered, the retry gets its answer.
func TestKeyInFlight(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, sale.SystemClock{})
	if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
		t.Fatal(err)
	}
	release := j.stall(t)
	first := make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k")
		first <- err
	}()
	waitFor(t, func() bool { return j.commit.Load() == 2 }) // the initialize's, then the reserve's
	start := time.Now()
	if _, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k"); !errors.Is(err, sale.ErrKeyInFlight) {
		t.Fatalf("retry while the first attempt commits: %v, want ErrKeyInFlight", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("ErrKeyInFlight took %v: the retry waited for the first attempt", d)
	}
	release()
	if err := <-first; err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	if a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "alice"}, "k"); err != nil || a.Reserve.Reservation == nil || !a.Replayed {
		t.Fatalf("retry after the first answered: %+v, %v, want the hold, replayed", a, err)
	}
}
