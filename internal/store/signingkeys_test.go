package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// SigningKey keeps the first secret for good, shared by every store on j.
// It fails with j.begin, as Begin does: the journal is gone.
func (j *journal) SigningKey(_ context.Context, id string, fresh []byte) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.begin != nil {
		return nil, j.begin
	}
	if s, ok := j.secrets[id]; ok {
		return s, nil
	}
	if j.secrets == nil {
		j.secrets = make(map[string][]byte)
	}
	j.secrets[id] = bytes.Clone(fresh)
	return j.secrets[id], nil
}

// TestSigningKeyFailures: a journal that fails, or a closed store, is
// ErrUnavailable (the caller may try again, elsewhere); a caller that gave
// up gets its context's error, not a failure of the store's.
func TestSigningKeyFailures(t *testing.T) {
	ctx := t.Context()
	j := &journal{}
	s := open(t, j, nil)
	gone := errors.New("connection reset")
	j.mu.Lock()
	j.begin = gone
	j.mu.Unlock()
	if _, err := s.SigningKey(ctx, "k1", []byte("secret")); !errors.Is(err, sale.ErrUnavailable) || !errors.Is(err, gone) {
		t.Fatalf("signing key while the journal fails: %v, want ErrUnavailable wrapping %v", err, gone)
	}
	j.mu.Lock()
	j.begin = nil
	j.mu.Unlock()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.SigningKey(cancelled, "k1", []byte("secret")); !errors.Is(err, context.Canceled) || errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("signing key for a caller that gave up: %v, want context.Canceled alone", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SigningKey(ctx, "k1", []byte("secret")); !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("signing key of a closed store: %v, want ErrUnavailable", err)
	}
	// Validation comes first: an invalid call is invalid on any store.
	if _, err := s.SigningKey(ctx, "", []byte("secret")); !errors.Is(err, sale.ErrInvalid) {
		t.Fatalf("signing key with no id, on a closed store: %v, want ErrInvalid", err)
	}
}

// TestSigningKeyTakesItsTurn: on a journal this process owns, the keyring
// waits for the batch being committed (SQLite's write lock is one, handed
// out by polling: racing the writer for it could see either refused); on a
// shared one, it does not wait for this server's batches.
func TestSigningKeyTakesItsTurn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
	}{{"Owned", false}, {"Shared", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			j := &journal{}
			var jr Journal = j
			if tc.shared {
				jr = shared{j}
			}
			s, err := Open(ctx, jr, sale.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := sale.Initialize(ctx, s, 1, false); err != nil {
				t.Fatal(err)
			}
			release := j.stall(t)
			commits := j.commit.Load()
			go sale.Reserve(ctx, s, "alice")
			for j.commit.Load() == commits {
				time.Sleep(time.Millisecond) // until the reserve's commit waits
			}
			got := make(chan error, 1)
			go func() {
				_, err := s.SigningKey(ctx, "k1", []byte("secret"))
				got <- err
			}()
			if !tc.shared {
				select {
				case err := <-got:
					t.Fatalf("signing key during a commit: %v; want it to wait for the commit", err)
				case <-time.After(50 * time.Millisecond):
				}
				release()
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("signing key still waiting")
			}
			release()
		})
	}
}
