package postgres

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/journaltest"
)

// openHooked opens a store (a server) on the schema dsn names and returns
// its journal too, to look at what the schema keeps.
func openHooked(t *testing.T, dsn string, cfg sale.Config) (*store.Store, *journal) {
	t.Helper()
	j, err := openJournal(t.Context(), dsn, cfg)
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

// TestOutboxJournal: see journaltest.Outbox, each test on a schema of its
// own. The journal is shared: a restart is another server opened on the
// schema, and the two holders of a lease are two servers on it.
func TestOutboxJournal(t *testing.T) {
	t.Parallel()
	journaltest.Outbox(t, func(t *testing.T) journaltest.Opener {
		dsn := pgtest.Schema(t)
		return func(t *testing.T, cfg sale.Config) (*store.Store, journaltest.OutboxJournal) {
			return openHooked(t, dsn, cfg)
		}
	})
}

// TestOutboxPruningUnderLoad: one server resets the sale over and over
// while the other acknowledges for two endpoints as fast as it can: the
// batches' pruning and the acknowledgements' never deadlock nor fail, and
// once both endpoints have everything, the schema keeps only the last
// sale.
func TestOutboxPruningUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.Schema(t)
	const hookA, hookB = "https://a.example/hooks", "https://b.example/hooks"
	cfg := sale.Config{HoldTTL: time.Minute, Outbox: sale.OutboxConfig{Endpoints: []string{hookA, hookB}}}
	seller, j := openHooked(t, dsn, cfg)
	deliverer, _ := openHooked(t, dsn, cfg)
	for _, url := range []string{hookA, hookB} {
		if l, err := deliverer.Lease(ctx, url, "deliverer", 30*time.Second); err != nil || !l.Held {
			t.Fatalf("lease %s: %+v, %v; want it held", url, l, err)
		}
	}
	const rounds = 30
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range rounds {
			for _, c := range []sale.Call{
				{Op: sale.OpInitialize, Total: 3, Reset: true},
				{Op: sale.OpReserve, UserID: fmt.Sprint("a", i)},
				{Op: sale.OpReserve, UserID: fmt.Sprint("b", i)},
			} {
				if _, err := seller.Do(ctx, c, ""); err != nil {
					t.Errorf("%s: %v", c, err)
					return
				}
			}
		}
	})
	for _, url := range []string{hookA, hookB} {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				newest, err := seller.Newest(ctx)
				if err == nil {
					err = deliverer.Acknowledge(ctx, sale.Ack{URL: url, Holder: "deliverer", Cursor: newest})
				}
				if err != nil {
					t.Errorf("acknowledge %s: %v", url, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	newest, err := seller.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{hookA, hookB} {
		if err := deliverer.Acknowledge(ctx, sale.Ack{URL: url, Holder: "deliverer", Cursor: newest}); err != nil {
			t.Fatal(err)
		}
	}
	last := newest - 3 // the last round's reset, initialized, two granted
	journaltest.WantKept(t, j, journaltest.Span(last, newest), last)
}
