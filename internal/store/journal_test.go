package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// journal is a Journal in memory that can be made to fail or to stall, for
// the writer's failure paths. One transaction at a time, across every store
// sharing it: the lock several servers would take on one database.
type journal struct {
	tx     sync.Mutex // held from Begin to Commit or Rollback
	mu     sync.Mutex
	events []sale.Event
	fail   error         // Commit fails with it while set
	lost   bool          // with fail: the events are committed all the same
	gate   chan struct{} // Commit waits for it to close while set
	commit atomic.Int32  // commits attempted
}

func (j *journal) setFail(err error) { j.mu.Lock(); j.fail = err; j.mu.Unlock() }

// stall makes commits wait until release is called (at the latest when the
// test ends, before its stores close).
func (j *journal) stall(t *testing.T) (release func()) {
	gate := make(chan struct{})
	j.mu.Lock()
	j.gate = gate
	j.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			j.mu.Lock()
			j.gate = nil
			j.mu.Unlock()
			close(gate)
		})
	}
	t.Cleanup(release)
	return release
}

func (j *journal) Read(_ context.Context, after uint64, limit int) ([]sale.Event, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sale.Event
	for _, e := range j.events {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (j *journal) Begin(context.Context) (Batch, error) { j.tx.Lock(); return &memBatch{j: j}, nil }
func (j *journal) Close() error                         { return nil }

type memBatch struct{ j *journal }

func (b *memBatch) Since(ctx context.Context, after uint64) ([]sale.Event, error) {
	return b.j.Read(ctx, after, 1<<30)
}

func (b *memBatch) Commit(_ context.Context, events []sale.Event) error {
	defer b.j.tx.Unlock()
	b.j.commit.Add(1)
	b.j.mu.Lock()
	gate, fail := b.j.gate, b.j.fail
	b.j.mu.Unlock()
	if gate != nil {
		<-gate
	}
	b.j.mu.Lock()
	lost := b.j.lost
	b.j.mu.Unlock()
	if fail != nil && !lost {
		return fail
	}
	b.j.mu.Lock()
	b.j.events = append(b.j.events, events...)
	b.j.mu.Unlock()
	return fail
}

func (b *memBatch) Rollback() error { b.j.tx.Unlock(); return nil }
