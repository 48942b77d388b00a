package store

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// journal is a Journal in memory that can be made to fail or to stall, for
// the writer's failure paths. One transaction at a time, across every store
// sharing it: the lock several servers would take on one database.
type journal struct {
	tx     sync.Mutex // held from Begin to Commit or Rollback
	mu     sync.Mutex
	events []sale.Event
	fail   error           // Commit fails with it while set
	lost   bool            // with fail: the events are committed all the same
	gate   chan struct{}   // Commit waits for it to close while set
	commit atomic.Int32    // commits attempted
	wake   []chan struct{} // Watch's, told of each commit
	head   error           // Head fails with it while set
	begin  error           // Begin and SigningKey fail with it while set
	// cut, with fail, becomes begin when a commit fails: the journal is
	// gone before anyone can ask whether the commit was made.
	cut error
	// keys, pruned as a real journal does by keyTTL and maxKeys (zero:
	// sale's defaults).
	keys    []sale.KeyRecord
	keyTTL  time.Duration
	maxKeys int
	secrets map[string][]byte // signing keys (signingkeys_test.go)
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

func (j *journal) Begin(context.Context) (Batch, error) {
	j.mu.Lock()
	err := j.begin
	j.mu.Unlock()
	if err != nil {
		return nil, err
	}
	j.tx.Lock()
	return &memBatch{j: j}, nil
}
func (j *journal) Close() error { return nil }

type memBatch struct{ j *journal }

func (b *memBatch) Since(ctx context.Context, after uint64) ([]sale.Event, error) {
	return b.j.Read(ctx, after, 1<<30)
}

func (b *memBatch) Keys(_ context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error) {
	b.j.mu.Lock()
	defer b.j.mu.Unlock()
	var out []sale.KeyRecord
	for _, r := range b.j.keys {
		if slices.Contains(ids, r.ID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (b *memBatch) Commit(_ context.Context, events []sale.Event, keys []sale.KeyRecord) error {
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
		b.j.mu.Lock()
		if b.j.cut != nil {
			b.j.begin = b.j.cut
		}
		b.j.mu.Unlock()
		return fail
	}
	b.j.mu.Lock()
	b.j.events = append(b.j.events, events...)
	b.j.keep(keys)
	for _, c := range b.j.wake {
		select {
		case c <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	b.j.mu.Unlock()
	return fail
}

func (b *memBatch) Rollback() error { b.j.tx.Unlock(); return nil }

// keep adds keys, then forgets the expired and, beyond maxKeys, the oldest.
// j.mu is held.
func (j *journal) keep(keys []sale.KeyRecord) {
	if len(keys) == 0 {
		return
	}
	cfg, _ := sale.Config{KeyTTL: j.keyTTL, MaxKeys: j.maxKeys}.WithDefaults()
	j.keys = append(j.keys, keys...)
	cutoff := KeyCutoff(keys, cfg.KeyTTL)
	j.keys = slices.DeleteFunc(j.keys, func(r sale.KeyRecord) bool { return !r.At.After(cutoff) })
	if over := len(j.keys) - cfg.MaxKeys; over > 0 {
		j.keys = j.keys[over:] // kept in the order they were made
	}
}

// shared is the journal as several stores see one database: a Shared
// journal, so each store reads the head before it answers a read, and
// hears of the others' commits.
type shared struct{ *journal }

// Head waits for a transaction in progress, as the PostgreSQL journal's
// does: a read must not land between a batch's decisions and its commit.
func (j shared) Head(context.Context) (uint64, error) {
	j.tx.Lock()
	defer j.tx.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.head != nil {
		return 0, j.head
	}
	if len(j.events) == 0 {
		return 0, nil
	}
	return j.events[len(j.events)-1].Seq, nil
}

func (j shared) Watch(ctx context.Context, changed func(uint64)) {
	c := make(chan struct{}, 1)
	j.mu.Lock()
	j.wake = append(j.wake, c)
	j.mu.Unlock()
	changed(0)
	for {
		select {
		case <-c:
			changed(0)
		case <-ctx.Done():
			return
		}
	}
}
