// Package memory is the sale kept in this process's memory only: a journal
// that keeps no event, so a commit costs nothing and a restart loses the
// sale. It is the fastest store and the default of `make run`.
package memory

import (
	"context"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// New returns an empty sale; nothing is for sale until Initialize.
func New(cfg sale.Config) (*store.Store, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	return store.Open(context.Background(), &journal{keys: newKeys(cfg.KeyTTL, cfg.MaxKeys), outbox: newOutbox(cfg.Outbox)}, cfg)
}

// journal keeps no event (but those its webhook endpoints have yet to
// acknowledge, outbox.go): the sale is the store's state in memory, and
// the feed's newest events are all a consumer can read. It keeps the
// idempotency keys, which the store looks up in its journal and does not
// keep itself: a retry must be answered with its first answer for the
// key's TTL.
//
// The store calls Begin, Keys and Commit from one batch at a time, under
// its lock; Read may come from any goroutine and touches nothing, and
// SigningKey from any goroutine too (signingkeys.go).
type journal struct {
	keys        *keys
	signingKeys signingKeys
	outbox      *outbox
}

var _ store.Journal = (*journal)(nil)

// Read has no event to give: none after 0 (a new sale), and for any later
// sequence the events are gone.
func (j *journal) Read(_ context.Context, after uint64, _ int) ([]sale.Event, error) {
	if after == 0 {
		return nil, nil
	}
	return nil, sale.ErrEventsGone
}

func (j *journal) Begin(context.Context) (store.Batch, error) { return batch{j}, nil }

func (j *journal) Close() error { return nil }

// batch is one commit: nothing to write but keys.
type batch struct{ j *journal }

// Since has nothing: no other process commits to memory.
func (batch) Since(context.Context, uint64) ([]sale.Event, error) { return nil, nil }

func (b batch) Keys(_ context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error) {
	return b.j.keys.get(ids), nil
}

func (b batch) Commit(_ context.Context, events []sale.Event, records []sale.KeyRecord) error {
	for _, r := range records {
		b.j.keys.add(r)
	}
	b.j.outbox.keep(events)
	return nil
}

func (batch) Rollback() error { return nil }
