package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// outbox keeps the webhook cursors of a memory store, and the events an
// endpoint has not acknowledged yet: those after the slowest cursor,
// whatever the resets, since the journal keeps no event otherwise. It is
// all lost with the process, as the sale is.
//
// The events are kept in blocks of outboxBlock, so that keeping one more
// never copies those before it (a slice grown by append would copy them
// all, inside the commit a reserve waits on), and at most outboxKeep of
// them: an endpoint further behind than that (dead for a while under a
// crowd) loses the oldest, which its deliverer counts as dead letters
// before going on from the sale as it is (webhook: Snapshotter).
type outbox struct {
	mu        sync.Mutex
	endpoints []*sale.Endpoint // in the configuration's order
	blocks    [][]sale.Event   // Seq > the slowest cursor, oldest first
	kept      int              // events in blocks
	most      int              // outboxKeep, but for tests
}

// Limits of the memory outbox, written once here.
const (
	// outboxKeep bounds the events kept for endpoints: at about 200 bytes
	// each, 200 MiB.
	outboxKeep = 1 << 20
	// outboxBlock is the events of one block.
	outboxBlock = 4096
)

var _ store.Outboxer = (*journal)(nil)

func newOutbox(cfg sale.OutboxConfig) *outbox {
	o := &outbox{most: outboxKeep}
	for _, u := range cfg.Endpoints {
		o.endpoints = append(o.endpoints, &sale.Endpoint{URL: u})
	}
	return o
}

// keep adds a commit's events, when some endpoint will want them, and
// forgets the oldest beyond o.most.
func (o *outbox) keep(events []sale.Event) {
	if len(o.endpoints) == 0 || len(events) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(events) > 0 {
		last := len(o.blocks) - 1
		if last < 0 || len(o.blocks[last]) == cap(o.blocks[last]) {
			o.blocks = append(o.blocks, make([]sale.Event, 0, outboxBlock))
			last++
		}
		n := min(len(events), cap(o.blocks[last])-len(o.blocks[last]))
		o.blocks[last] = append(o.blocks[last], events[:n]...) // copies: the rules reuse their slice
		o.kept += n
		events = events[n:]
	}
	for o.kept > o.most && len(o.blocks) > 1 {
		o.kept -= len(o.blocks[0])
		o.blocks[0] = nil
		o.blocks = o.blocks[1:]
	}
}

// ReadAll implements store.Outboxer.
func (j *journal) ReadAll(_ context.Context, after uint64, limit int) ([]sale.Event, error) {
	o := j.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []sale.Event
	for _, b := range o.blocks {
		if len(out) == limit {
			break
		}
		if len(b) == 0 || b[len(b)-1].Seq <= after {
			continue
		}
		i, _ := slices.BinarySearchFunc(b, after+1, func(e sale.Event, seq uint64) int { return cmp.Compare(e.Seq, seq) })
		n := min(len(b)-i, limit-len(out))
		out = append(out, b[i:i+n]...)
	}
	return out, nil
}

func (o *outbox) find(url string) *sale.Endpoint {
	for _, e := range o.endpoints {
		if e.URL == url {
			return e
		}
	}
	return nil
}

// Lease implements store.Outboxer.
func (j *journal) Lease(_ context.Context, url, holder string, ttl time.Duration, now time.Time) (sale.Lease, error) {
	o := j.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.find(url)
	if e == nil {
		return sale.Lease{}, sale.ErrNoOutbox
	}
	if e.Holder != holder && e.Holder != "" && now.Before(e.LeaseUntil) {
		return sale.Lease{Holder: e.Holder, Until: e.LeaseUntil}, nil
	}
	e.Holder, e.LeaseUntil = holder, sale.Instant(now.Add(ttl))
	return sale.Lease{Held: true, Cursor: e.Cursor, Holder: holder, Until: e.LeaseUntil}, nil
}

// Acknowledge implements store.Outboxer, and forgets the events every
// endpoint has acknowledged.
func (j *journal) Acknowledge(_ context.Context, a sale.Ack, _ time.Time) error {
	o := j.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.find(a.URL)
	switch {
	case e == nil:
		return sale.ErrNoOutbox
	case e.Holder != a.Holder:
		return sale.ErrLeaseLost
	}
	advanced := a.Cursor > e.Cursor
	e.Cursor = max(e.Cursor, a.Cursor)
	e.DeadLetters += a.Dead
	switch {
	case a.Failure != nil:
		e.LastError, e.LastErrorAt = sale.ErrorText(a.Failure), sale.Instant(a.FailedAt)
	case advanced:
		e.LastError, e.LastErrorAt = "", time.Time{}
	}
	slowest := e.Cursor
	for _, other := range o.endpoints {
		slowest = min(slowest, other.Cursor)
	}
	o.forget(slowest)
	return nil
}

// forget drops the events at or before seq: whole blocks, then the
// front of the first (its array goes with the block).
func (o *outbox) forget(seq uint64) {
	for len(o.blocks) > 0 {
		b := o.blocks[0]
		n, _ := slices.BinarySearchFunc(b, seq+1, func(e sale.Event, seq uint64) int { return cmp.Compare(e.Seq, seq) })
		o.kept -= n
		if n < len(b) || n < cap(b) && len(o.blocks) == 1 {
			o.blocks[0] = b[n:]
			return
		}
		o.blocks[0] = nil
		o.blocks = o.blocks[1:]
	}
}

// Endpoints implements store.Outboxer.
func (j *journal) Endpoints(context.Context) ([]sale.Endpoint, error) {
	o := j.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]sale.Endpoint, len(o.endpoints))
	for i, e := range o.endpoints {
		out[i] = *e
	}
	return out, nil
}
