package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/journaltest"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// openKeyed opens a store on the file at path and returns its journal too,
// to look at what the file keeps.
func openKeyed(t *testing.T, path string, cfg sale.Config) (*store.Store, *journal) {
	t.Helper()
	j, err := openJournal(t.Context(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), j, cfg)
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, j
}

// rowsOf returns the scopes of the rows of sale_keys, oldest first, after
// checking that the journal's count of them is exact.
func rowsOf(t *testing.T, j *journal) []string {
	t.Helper()
	rows, err := j.db.QueryContext(t.Context(), "SELECT scope FROM sale_keys ORDER BY at_us, rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var scopes []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		scopes = append(scopes, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if j.keys != len(scopes) {
		t.Fatalf("the journal counts %d keys; sale_keys holds %d", j.keys, len(scopes))
	}
	return scopes
}

// TestKeysReadEveryRecord: see journaltest.KeysReadEveryRecord.
func TestKeysReadEveryRecord(t *testing.T) {
	journaltest.KeysReadEveryRecord(t, func(t *testing.T, cfg sale.Config) store.Journal {
		j, err := openJournal(t.Context(), filepath.Join(t.TempDir(), "sale.db"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return j
	})
}

// TestKeysPruned: each commit forgets the keys expired by its newest one's
// time and, beyond MaxKeys, the oldest; the count the journal keeps stays
// the table's, across a restart too.
func TestKeysPruned(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sale.db")
	clock := clocktest.New(t0)
	cfg := sale.Config{Clock: clock, KeyTTL: time.Minute, MaxKeys: 3}
	s, j := openKeyed(t, path, cfg)
	if _, err := sale.Initialize(ctx, s, 10, false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		clock.Advance(time.Second)
		if _, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: fmt.Sprint("user-", i)}, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(rowsOf(t, j)); got != "[user:user-3 user:user-4 user:user-5]" {
		t.Fatalf("keys kept: %s; want the 3 newest", got)
	}
	if a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-5"}, "k"); err != nil || !a.Replayed {
		t.Fatalf("retry of a kept key: %v (replayed %v)", err, a.Replayed)
	}
	if a, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-1"}, "k"); !errors.Is(err, sale.ErrAlreadyReserved) || a.Replayed {
		t.Fatalf("retry of a forgotten key: %v (replayed %v); want it made again", err, a.Replayed)
	}
	if got := rowsOf(t, j); len(got) != 3 {
		t.Fatalf("keys kept: %v; want 3", got)
	}

	clock.Advance(time.Minute) // every key kept so far has expired
	if _, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-6"}, "k"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rowsOf(t, j)); got != "[user:user-6]" {
		t.Fatalf("keys kept after a TTL: %s; want user-6's alone", got)
	}
	s.Close()
	if _, j = openKeyed(t, path, cfg); j.keys != 1 {
		t.Fatalf("counted %d keys at open; want 1", j.keys)
	}
}
