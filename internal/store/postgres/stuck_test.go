package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
)

// TestFrozenServerReleasesTheLock: a server that froze in the middle of a
// batch, holding the sale row's lock (its machine lost power; no FIN reached
// PostgreSQL), does not stop the other servers for longer than the idle-in-
// transaction timeout: PostgreSQL ends its session and the lock is free.
func TestFrozenServerReleasesTheLock(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := t.Context()
	frozen, err := openJournal(ctx, dsn, sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	other, err := Open(ctx, dsn, sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := sale.Initialize(ctx, other, 1, false); err != nil {
		t.Fatal(err)
	}

	tx, err := frozen.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Since(ctx, 0); err != nil { // takes the row lock
		t.Fatal(err)
	}
	// ... and never commits nor rolls back (until the test ends: its
	// connection goes back to the pool then, so the pool can close).
	defer tx.Rollback()

	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var res sale.ReserveResult
	for {
		// The first try may be cut by the store's own batch timeout
		// (503); a shopper's retry then succeeds.
		if res, err = sale.Reserve(rctx, other, "alice"); err == nil || rctx.Err() != nil {
			break
		}
	}
	if err != nil || res.Reservation == nil {
		t.Fatalf("reserve while another server froze holding the lock: %+v, %v (after %v)", res, err, time.Since(start))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the lock was held for %v", took)
	}
	t.Logf("the frozen server's lock was released after %v", time.Since(start))
}
