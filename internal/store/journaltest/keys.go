// Package journaltest holds the tests every store.Journal runs the same
// way, below the engine: what a backend's table and statements must do
// that the conformance suite, speaking only through sale.Store, cannot
// reach. A backend's tests call them with a function that opens its
// journal; storebench is their counterpart for benchmarks.
package journaltest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// KeysReadEveryRecord: Keys returns every record of a key, an expired one
// and the newer one alike (the rules judge expiry and keep the newer), and
// finds 600 keys at once (more than one statement's share, where a journal
// splits them). open opens a fresh journal that keeps keys an hour, longer
// than the rules are told here, so that both records are still there.
func KeysReadEveryRecord(t *testing.T, open func(t *testing.T, cfg sale.Config) store.Journal) {
	ctx := t.Context()
	j := open(t, sale.Config{KeyTTL: time.Hour})
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
	begin := func() store.Batch {
		t.Helper()
		b, err := j.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Since(ctx, 0); err != nil { // a shared journal's lock
			b.Rollback()
			t.Fatal(err)
		}
		return b
	}
	for _, keys := range [][]sale.KeyRecord{{older}, many, {newer}} {
		if err := begin().Commit(ctx, nil, keys); err != nil {
			t.Fatal(err)
		}
	}

	b := begin()
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
	if ans := r.Keyed(t0.Add(35*time.Minute), id, call); !ans.Replayed || !errors.Is(ans.Err, sale.ErrNotInitialized) {
		t.Fatalf("answer %+v; want the newer record's, replayed", ans)
	}

	ids := make([]sale.KeyID, len(many))
	for i, k := range many {
		ids[i] = k.ID
	}
	if got, err = b.Keys(ctx, ids); err != nil || len(got) != len(many) {
		t.Fatalf("%d keys at once: %d records, %v", len(many), len(got), err)
	}
}
