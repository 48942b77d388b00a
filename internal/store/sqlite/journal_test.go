package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// TestResetInsideABatch: a batch in which a reset follows other events (a
// crowd's reserve and an operator's reset, committed together) keeps from
// the reset on, so the file replays from the reset and nothing before it
// survives to break the replay.
func TestResetInsideABatch(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sale.db")
	r, err := rules.New(sale.Config{HoldTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, step := range []func() error{
		func() error { _, err := r.Initialize(now, 1, false); return err },
		func() error { _, err := r.Reserve(now, "alice"); return err },
		func() error { _, err := r.Reserve(now, "bob"); return err },
		func() error { _, err := r.Initialize(now, 3, true); return err },
		func() error { _, err := r.Reserve(now, "carol"); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	events := r.Take() // initialized, granted, joined, reset, initialized, granted

	j, err := openJournal(ctx, path, sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	b, err := j.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	kept, err := j.Read(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 3 || kept[0].Kind != sale.EventReset || kept[0].Seq != events[3].Seq {
		t.Fatalf("kept %d events starting with %+v; want the reset and what follows it", len(kept), kept[0])
	}
	replayed, err := rules.New(sale.Config{HoldTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range kept {
		if err := replayed.Apply(e); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	if st := replayed.Status(); st != (sale.Status{Initialized: true, Total: 3, Available: 2, Held: 1, Phase: sale.PhaseOpen}) {
		t.Fatalf("replayed status %+v", st)
	}
}
