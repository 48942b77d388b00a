package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// openKeyed opens a store (a server) on the schema dsn names.
func openKeyed(t *testing.T, dsn string, cfg sale.Config) *store.Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// inspect connects to the schema dsn names, to look at what it keeps.
func inspect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// rowsOf returns the scopes of the rows of sale_keys, oldest first, after
// checking that sale.keys counts them exactly.
func rowsOf(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT scope FROM sale_keys ORDER BY at, scope")
	if err != nil {
		t.Fatal(err)
	}
	scopes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := conn.QueryRow(t.Context(), "SELECT keys FROM sale WHERE id = 1").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(scopes) {
		t.Fatalf("sale.keys is %d; sale_keys holds %d", count, len(scopes))
	}
	return scopes
}

// TestKeysOnlyBatchSurvivesReopen: a batch whose every call was answered
// with a conflict commits its keys and no event (the sale row stays where
// it was), and after a restart the retry is answered as the first attempt
// was, though the sale has changed.
func TestKeysOnlyBatchSurvivesReopen(t *testing.T) {
	dsn := pgtest.Schema(t)
	cfg := sale.Config{Clock: clocktest.New(t0)}
	s := openKeyed(t, dsn, cfg)
	if _, err := s.Reserve(t.Context(), "alice", &sale.Attempt{Key: "k1"}); !errors.Is(err, sale.ErrNotInitialized) {
		t.Fatalf("reserve before initialize: %v", err)
	}
	conn := inspect(t, dsn)
	var last, events int
	if err := conn.QueryRow(t.Context(), "SELECT last_seq, (SELECT count(*) FROM sale_events) FROM sale").Scan(&last, &events); err != nil || last != 0 || events != 0 {
		t.Fatalf("last_seq %d, %d events, %v; want none", last, events, err)
	}
	if got := rowsOf(t, conn); len(got) != 1 {
		t.Fatalf("keys kept: %v; want alice's", got)
	}
	s.Close()

	s = openKeyed(t, dsn, cfg)
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
// keys at once.
func TestKeysReadEveryRecord(t *testing.T) {
	ctx := t.Context()
	j, err := openJournal(ctx, pgtest.Schema(t), sale.Config{KeyTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	call := sale.Call{Op: sale.OpCancel, ReservationID: "r1"}
	id := rules.KeyOf(call, "k")
	older := sale.KeyRecord{ID: id, At: t0, Call: call, Answer: sale.Answer{Err: sale.ErrReservationNotFound}}
	newer := sale.KeyRecord{ID: id, At: t0.Add(30 * time.Minute), Call: call, Answer: sale.Answer{Err: sale.ErrNotInitialized}}
	var many []sale.KeyRecord
	for i := range 600 {
		c := sale.Call{Op: sale.OpReserve, UserID: fmt.Sprint("user-", i)}
		many = append(many, sale.KeyRecord{ID: rules.KeyOf(c, "k"), At: t0.Add(time.Minute), Call: c, Answer: sale.Answer{Err: sale.ErrNotInitialized}})
	}
	for _, keys := range [][]sale.KeyRecord{{older}, many, {newer}} {
		b, err := j.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Since(ctx, 0); err != nil {
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
	if _, err := b.Since(ctx, 0); err != nil {
		t.Fatal(err)
	}
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
// time and, beyond MaxKeys, the oldest, and sale.keys stays the table's
// count through many commits by two servers.
func TestKeysPruned(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Schema(t)
	clock := clocktest.New(t0)
	cfg := sale.Config{Clock: clock, KeyTTL: time.Minute, MaxKeys: 3}
	servers := []*store.Store{openKeyed(t, dsn, cfg), openKeyed(t, dsn, cfg)}
	conn := inspect(t, dsn)
	if _, err := servers[0].Initialize(ctx, 10, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		clock.Advance(time.Second)
		if _, err := servers[i%2].Reserve(ctx, fmt.Sprint("user-", i), &sale.Attempt{Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(rowsOf(t, conn)); got != "[user:user-3 user:user-4 user:user-5]" {
		t.Fatalf("keys kept: %s; want the 3 newest", got)
	}
	a := &sale.Attempt{Key: "k"}
	if _, err := servers[0].Reserve(ctx, "user-5", a); err != nil || !a.Replayed {
		t.Fatalf("retry of a kept key: %v (replayed %v)", err, a.Replayed)
	}
	a = &sale.Attempt{Key: "k"}
	if _, err := servers[1].Reserve(ctx, "user-1", a); !errors.Is(err, sale.ErrAlreadyReserved) || a.Replayed {
		t.Fatalf("retry of a forgotten key: %v (replayed %v); want it made again", err, a.Replayed)
	}

	clock.Advance(time.Minute) // every key kept so far has expired
	if _, err := servers[0].Reserve(ctx, "user-6", &sale.Attempt{Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rowsOf(t, conn)); got != "[user:user-6]" {
		t.Fatalf("keys kept after a TTL: %s; want user-6's alone", got)
	}

	// Many commits, some of keys alone (a retry after its key was forgotten
	// is made again, and answered with a conflict), at times that expire
	// some keys and holds and not others.
	for i := range 40 {
		clock.Advance(time.Duration(i%7) * 10 * time.Second)
		user := fmt.Sprint("user-", i%5)
		if _, err := servers[i%2].Reserve(ctx, user, &sale.Attempt{Key: fmt.Sprint("k", i%3)}); err != nil &&
			!errors.Is(err, sale.ErrAlreadyReserved) {
			t.Fatal(err)
		}
		if got := rowsOf(t, conn); len(got) > 3 {
			t.Fatalf("after commit %d, %d keys kept: %v", i, len(got), got)
		}
	}
}

// TestResetKeepsKeys: a reset deletes the events before it, never keys: an
// admin's retried reset is answered, not made again, and so is a retry
// from the sale before it.
func TestResetKeepsKeys(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Schema(t)
	cfg := sale.Config{Clock: clocktest.New(t0)}
	s := openKeyed(t, dsn, cfg)
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
	var kind string
	if err := inspect(t, dsn).QueryRow(ctx, "SELECT kind FROM sale_events ORDER BY seq LIMIT 1").Scan(&kind); err != nil || kind != string(sale.EventReset) {
		t.Fatalf("first event %q, %v; want the reset", kind, err)
	}
	s.Close()

	s = openKeyed(t, dsn, cfg)
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
