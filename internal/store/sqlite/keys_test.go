package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
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

// TestKeysOnlyBatchSurvivesReopen: a batch whose every call was answered
// with a conflict commits its keys and no event, and after a restart the
// retry is answered as the first attempt was, though the sale has changed.
func TestKeysOnlyBatchSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sale.db")
	cfg := sale.Config{Clock: clocktest.New(t0)}
	s, j := openKeyed(t, path, cfg)
	if _, err := s.Reserve(t.Context(), "alice", &sale.Attempt{Key: "k1"}); !errors.Is(err, sale.ErrNotInitialized) {
		t.Fatalf("reserve before initialize: %v", err)
	}
	if events, err := j.Read(t.Context(), 0, 10); err != nil || len(events) != 0 {
		t.Fatalf("events %v, %v; want none", events, err)
	}
	if got := rowsOf(t, j); len(got) != 1 {
		t.Fatalf("keys kept: %v; want alice's", got)
	}
	s.Close()

	s, _ = openKeyed(t, path, cfg)
	if _, err := s.Initialize(t.Context(), 1, false, nil); err != nil {
		t.Fatal(err)
	}
	a := &sale.Attempt{Key: "k1"}
	if _, err := s.Reserve(t.Context(), "alice", a); !errors.Is(err, sale.ErrNotInitialized) || !a.Replayed {
		t.Fatalf("retry after a restart: %v (replayed %v); want the first answer, replayed", err, a.Replayed)
	}
}

// TestKeysReadEveryRecord: Keys returns every record of a key, the expired
// one and the newer one alike (the rules keep the newer), and finds many
// keys at once, beyond one statement's share.
func TestKeysReadEveryRecord(t *testing.T) {
	ctx := t.Context()
	j, err := openJournal(ctx, filepath.Join(t.TempDir(), "sale.db"), sale.Config{KeyTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	call := sale.Call{Op: sale.OpCancel, ReservationID: "r1"}
	id := rules.KeyOf(call, "k")
	older := sale.KeyRecord{ID: id, At: t0, Call: call, Answer: sale.Answer{Err: sale.ErrReservationNotFound}}
	newer := sale.KeyRecord{ID: id, At: t0.Add(30 * time.Minute), Call: call, Answer: sale.Answer{Err: sale.ErrNotInitialized}}
	var many []sale.KeyRecord
	for i := range 300 {
		c := sale.Call{Op: sale.OpReserve, UserID: fmt.Sprint("user-", i)}
		many = append(many, sale.KeyRecord{ID: rules.KeyOf(c, "k"), At: t0.Add(time.Minute), Call: c, Answer: sale.Answer{Err: sale.ErrNotInitialized}})
	}
	for _, keys := range [][]sale.KeyRecord{{older}, many, {newer}} {
		b, err := j.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(ctx, nil, keys); err != nil {
			t.Fatal(err)
		}
	}

	b, err := j.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback()
	got, err := b.Keys(ctx, []sale.KeyID{id, {Scope: "user:nobody", Key: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].At.Equal(older.At) && !got[1].At.Equal(older.At) {
		t.Fatalf("records of %v: %+v; want the older and the newer", id, got)
	}
	// With a TTL of 20 minutes the older has expired by now; the newer
	// answers.
	r, err := rules.New(sale.Config{KeyTTL: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	r.LoadKeys(got)
	if ans, replayed := r.Keyed(t0.Add(35*time.Minute), "k", call); !replayed || !errors.Is(ans.Err, sale.ErrNotInitialized) {
		t.Fatalf("answer %+v (replayed %v); want the newer record's", ans, replayed)
	}

	ids := make([]sale.KeyID, len(many))
	for i, k := range many {
		ids[i] = k.ID
	}
	if got, err = b.Keys(ctx, ids); err != nil || len(got) != len(many) {
		t.Fatalf("%d keys at once: %d records, %v", len(many), len(got), err)
	}
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
	if _, err := s.Initialize(ctx, 10, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		clock.Advance(time.Second)
		if _, err := s.Reserve(ctx, fmt.Sprint("user-", i), &sale.Attempt{Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(rowsOf(t, j)); got != "[user:user-3 user:user-4 user:user-5]" {
		t.Fatalf("keys kept: %s; want the 3 newest", got)
	}
	a := &sale.Attempt{Key: "k"}
	if _, err := s.Reserve(ctx, "user-5", a); err != nil || !a.Replayed {
		t.Fatalf("retry of a kept key: %v (replayed %v)", err, a.Replayed)
	}
	a = &sale.Attempt{Key: "k"}
	if _, err := s.Reserve(ctx, "user-1", a); !errors.Is(err, sale.ErrAlreadyReserved) || a.Replayed {
		t.Fatalf("retry of a forgotten key: %v (replayed %v); want it made again", err, a.Replayed)
	}
	if got := rowsOf(t, j); len(got) != 3 {
		t.Fatalf("keys kept: %v; want 3", got)
	}

	clock.Advance(time.Minute) // every key kept so far has expired
	if _, err := s.Reserve(ctx, "user-6", &sale.Attempt{Key: "k"}); err != nil {
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

// TestResetKeepsKeys: a reset deletes the events before it, never keys: an
// admin's retried reset is answered, not made again, and so is a retry
// from the sale before it.
func TestResetKeepsKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sale.db")
	cfg := sale.Config{Clock: clocktest.New(t0)}
	s, j := openKeyed(t, path, cfg)
	if _, err := s.Initialize(ctx, 2, false, nil); err != nil {
		t.Fatal(err)
	}
	first, err := s.Reserve(ctx, "alice", &sale.Attempt{Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Initialize(ctx, 5, true, &sale.Attempt{Key: "reset"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	if events, err := j.Read(ctx, 0, 10); err != nil || len(events) == 0 || events[0].Kind != sale.EventReset {
		t.Fatalf("events %+v, %v; want the reset first", events, err)
	}
	s.Close()

	s, _ = openKeyed(t, path, cfg)
	a := &sale.Attempt{Key: "reset"}
	if _, err := s.Initialize(ctx, 5, true, a); err != nil || !a.Replayed {
		t.Fatalf("retried reset: %v (replayed %v)", err, a.Replayed)
	}
	if st, err := s.Status(ctx); err != nil || st.Held != 1 {
		t.Fatalf("status %+v, %v; want bob's hold, kept", st, err)
	}
	a = &sale.Attempt{Key: "a"}
	again, err := s.Reserve(ctx, "alice", a)
	if err != nil || !a.Replayed || again.Reservation == nil || again.Reservation.ID != first.Reservation.ID {
		t.Fatalf("alice's retry: %+v, %v (replayed %v); want her first answer", again, err, a.Replayed)
	}
}
