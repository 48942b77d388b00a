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
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/journaltest"
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

// TestKeysReadEveryRecord: see journaltest.KeysReadEveryRecord.
func TestKeysReadEveryRecord(t *testing.T) {
	journaltest.KeysReadEveryRecord(t, func(t *testing.T, cfg sale.Config) store.Journal {
		j, err := openJournal(t.Context(), pgtest.Schema(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return j
	})
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
	if _, err := sale.Initialize(ctx, servers[0], 10, false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		clock.Advance(time.Second)
		if _, err := servers[i%2].Do(ctx, sale.Call{Op: sale.OpReserve, UserID: fmt.Sprint("user-", i)}, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(rowsOf(t, conn)); got != "[user:user-3 user:user-4 user:user-5]" {
		t.Fatalf("keys kept: %s; want the 3 newest", got)
	}
	if a, err := servers[0].Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-5"}, "k"); err != nil || !a.Replayed {
		t.Fatalf("retry of a kept key: %v (replayed %v)", err, a.Replayed)
	}
	if a, err := servers[1].Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-1"}, "k"); !errors.Is(err, sale.ErrAlreadyReserved) || a.Replayed {
		t.Fatalf("retry of a forgotten key: %v (replayed %v); want it made again", err, a.Replayed)
	}

	clock.Advance(time.Minute) // every key kept so far has expired
	if _, err := servers[0].Do(ctx, sale.Call{Op: sale.OpReserve, UserID: "user-6"}, "k"); err != nil {
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
		if _, err := servers[i%2].Do(ctx, sale.Call{Op: sale.OpReserve, UserID: user}, fmt.Sprint("k", i%3)); err != nil &&
			!errors.Is(err, sale.ErrAlreadyReserved) {
			t.Fatal(err)
		}
		if got := rowsOf(t, conn); len(got) > 3 {
			t.Fatalf("after commit %d, %d keys kept: %v", i, len(got), got)
		}
	}
}
