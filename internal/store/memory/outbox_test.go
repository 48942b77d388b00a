package memory

import (
	"fmt"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// TestOutboxIsBounded: the events kept for endpoints are kept in blocks,
// never more than the bound (and, once it is reached, less by a block at
// most, the oldest block forgotten whole): an endpoint that does not answer makes
// the store forget the oldest, never grow without end; and what is kept is
// every event after the oldest kept, in order, as Pending reads it.
func TestOutboxIsBounded(t *testing.T) {
	cfg, err := sale.Config{Outbox: sale.OutboxConfig{Endpoints: []string{"http://a.example/h"}}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{keys: newKeys(cfg.KeyTTL, cfg.MaxKeys), outbox: newOutbox(cfg.Outbox)}
	const most = 2 * outboxBlock
	j.outbox.most = most
	s, err := store.Open(t.Context(), j, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := sale.Initialize(t.Context(), s, 1, false); err != nil {
		t.Fatal(err)
	}
	const shoppers = 5 * outboxBlock
	for i := range shoppers {
		if _, err := sale.Reserve(t.Context(), s, fmt.Sprintf("u%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	newest := uint64(shoppers + 1)
	if j.outbox.kept > most || j.outbox.kept <= most-outboxBlock {
		t.Fatalf("%d events kept: want at most the bound %d, less by a block at most", j.outbox.kept, most)
	}
	all, err := j.ReadAll(t.Context(), 0, shoppers+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != j.outbox.kept || all[len(all)-1].Seq != newest {
		t.Fatalf("ReadAll gave %d events ending at %d; want the %d kept, ending at %d", len(all), all[len(all)-1].Seq, j.outbox.kept, newest)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 {
			t.Fatalf("a gap after %d", all[i-1].Seq)
		}
	}
	// Pages cross blocks; an acknowledgement forgets what it passed, part
	// of a block too.
	if len(j.outbox.blocks) < 2 {
		t.Fatalf("%d events in %d blocks: the test reads across blocks", j.outbox.kept, len(j.outbox.blocks))
	}
	from := all[0].Seq + 7
	page, err := j.ReadAll(t.Context(), from, len(all))
	if err != nil || len(page) != len(all)-8 || page[0].Seq != from+1 || page[len(page)-1].Seq != newest {
		t.Fatalf("a page after %d: %d events from %d, %v", from, len(page), page[0].Seq, err)
	}
	mid := all[len(all)/2].Seq + 7
	if _, err := s.Lease(t.Context(), "http://a.example/h", "me", 1e9); err != nil {
		t.Fatal(err)
	}
	if err := s.Acknowledge(t.Context(), sale.Ack{URL: "http://a.example/h", Holder: "me", Cursor: mid}); err != nil {
		t.Fatal(err)
	}
	rest, _ := j.ReadAll(t.Context(), 0, shoppers)
	if len(rest) != int(newest-mid) || rest[0].Seq != mid+1 || j.outbox.kept != len(rest) {
		t.Fatalf("after an ack at %d: %d events from %d (%d counted); want %d from %d", mid, len(rest), rest[0].Seq, j.outbox.kept, newest-mid, mid+1)
	}
	if err := s.Acknowledge(t.Context(), sale.Ack{URL: "http://a.example/h", Holder: "me", Cursor: newest}); err != nil {
		t.Fatal(err)
	}
	if rest, _ := j.ReadAll(t.Context(), 0, shoppers); len(rest) != 0 || j.outbox.kept != 0 {
		t.Fatalf("after an ack of everything, %d events kept (%d counted)", len(rest), j.outbox.kept)
	}
	if _, err := sale.Reserve(t.Context(), s, "late"); err != nil {
		t.Fatal(err)
	}
	if rest, _ := j.ReadAll(t.Context(), newest, 10); len(rest) != 1 || rest[0].UserID != "late" {
		t.Fatalf("after everything was acknowledged, a new event is kept: %v", rest)
	}
}
