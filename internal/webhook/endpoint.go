package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// endpoint is one endpoint's delivery loop on this server.
type endpoint struct {
	d     *Deliverer
	url   string
	label string
	log   *slog.Logger

	// replica is the sale as of the last event this server delivered to
	// the endpoint (nil before the first lease): kept across leases, so
	// that only a cursor another server moved calls for a replay.
	replica *rules.Sale

	leading                          atomic.Bool
	cursor                           atomic.Uint64
	delivered, failed, retries, dead atomic.Uint64

	failing      bool      // the last attempt failed (logged once per outage)
	failureSaved time.Time // when the last failure was recorded in the store
}

// run leads the endpoint whenever its lease is free, until ctx ends.
func (ep *endpoint) run(ctx context.Context) {
	cfg := ep.d.cfg
	down := false
	for ctx.Err() == nil {
		asked := cfg.Clock.Now()
		lease, err := cfg.Outbox.Lease(ctx, ep.url, cfg.Holder, cfg.LeaseTTL)
		switch {
		case err != nil:
			if !down && ctx.Err() == nil {
				ep.log.Warn("webhook: cannot lease the endpoint; trying again", "err", err)
			}
			down = true
		case !lease.Held:
			down = false
		default:
			if down {
				ep.log.Info("webhook: leased the endpoint again")
			}
			down = false
			ep.lead(ctx, lease, asked.Add(cfg.LeaseTTL))
			continue
		}
		// Another server delivers, or the store is down: look again
		// within a third of a lease, so that a dead holder is replaced
		// soon after its lease ends.
		ep.sleep(ctx, cfg.LeaseTTL/3)
	}
}

// lead delivers while this server holds the lease: a renewing goroutine
// ends it (cancels lctx) as soon as the lease cannot be shown to hold.
func (ep *endpoint) lead(ctx context.Context, lease sale.Lease, until time.Time) {
	lctx, lost := context.WithCancel(ctx)
	defer lost()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		ep.renew(lctx, lost, until)
	}()
	ep.leading.Store(true)
	defer ep.leading.Store(false)
	ep.log.Info("webhook: delivering", "holder", ep.d.cfg.Holder, "from", lease.Cursor)
	err := ep.deliver(lctx, lease.Cursor)
	lost()
	<-renewed
	if ctx.Err() != nil {
		ep.release()
	}
	switch {
	case ctx.Err() != nil, err == nil:
	case errors.Is(err, sale.ErrLeaseLost), lctx.Err() != nil:
		ep.log.Info("webhook: stopped delivering: the lease is no longer this server's", "reason", err)
	default:
		ep.log.Warn("webhook: delivery stopped; resuming from the recorded cursor", "err", err)
		ep.sleep(ctx, time.Second)
	}
}

// release gives the lease up on shutdown, its progress recorded, by
// renewing it for a microsecond: a server restarting, or another one,
// takes the endpoint over at once rather than once the lease has run out.
func (ep *endpoint) release() {
	cfg := ep.d.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if _, err := cfg.Outbox.Lease(ctx, ep.url, cfg.Holder, time.Microsecond); err != nil {
		ep.log.Warn("webhook: could not give the lease up; another server takes over once it runs out", "err", err)
	}
}

// renew keeps the lease, a third of its TTL at a time, and calls lost once
// it is another's or could not be renewed before it ran out (the store is
// down: another server may hold it by then). until is when the lease held
// runs out by this server's clock: measured from before the lease was
// asked for, so it runs out here no later than in the store.
func (ep *endpoint) renew(ctx context.Context, lost context.CancelFunc, until time.Time) {
	cfg := ep.d.cfg
	clock := cfg.Clock
	for {
		left := until.Sub(clock.Now())
		if left <= 0 {
			ep.log.Warn("webhook: could not renew the lease before it ran out; pausing delivery")
			lost()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.After(min(cfg.LeaseTTL/3, left)):
		}
		asked := clock.Now()
		// A renewal that hangs must not outlive the lease it renews.
		rctx, cancel := context.WithTimeout(ctx, max(until.Sub(asked), 0))
		l, err := cfg.Outbox.Lease(rctx, ep.url, cfg.Holder, cfg.LeaseTTL)
		cancel()
		switch {
		case err == nil && l.Held:
			until = asked.Add(cfg.LeaseTTL)
		case err == nil:
			ep.log.Warn("webhook: another server took the endpoint", "holder", l.Holder)
			lost()
			return
		case ctx.Err() != nil:
			return
		}
	}
}

// deliver sends every event after cursor, in order, until ctx ends or the
// store fails; it records progress as it goes and once more when it ends.
func (ep *endpoint) deliver(ctx context.Context, cursor uint64) (err error) {
	p := progress{ep: ep, recorded: cursor, at: ep.d.cfg.Clock.Now()}
	if ep.replica == nil || ep.replica.Seq() < cursor {
		// First lead, or another server delivered further: the sale as
		// of the cursor is replayed from what the store keeps.
		ep.replica, err = ep.replay(ctx, cursor)
		if errors.Is(err, errGone) {
			_, err = ep.resync(ctx, cursor, &p)
		}
		if err != nil {
			ep.replica = nil
			return err
		}
	}
	// Events this server delivered past the recorded cursor (it could not
	// record them before it lost the lease, and nobody moved it since) were
	// answered with a 2xx: they are not sent again.
	cursor = ep.replica.Seq()
	ep.cursor.Store(cursor)
	defer func() {
		// Recorded however delivery ends, unless the lease is lost: a
		// graceful shutdown sends nothing twice.
		ctx, cancel := context.WithTimeout(context.Background(), ep.d.cfg.Timeout)
		defer cancel()
		if rerr := p.record(ctx, cursor, nil); err == nil && !errors.Is(rerr, context.Canceled) {
			err = rerr
		}
	}()
page:
	for {
		events, more, err := ep.d.cfg.Outbox.Pending(ctx, cursor, pageSize)
		if err != nil {
			return fmt.Errorf("read events after %d: %w", cursor, err)
		}
		for _, e := range events {
			if e.Seq > cursor+1 && e.Kind != sale.EventReset {
				// The events before e are gone, and e does not begin a
				// sale: the copy cannot follow. Go on from the sale as it
				// is now, the events up to it given up.
				if cursor, err = ep.resync(ctx, cursor, &p); err != nil {
					return err
				}
				continue page
			}
			if e.Seq > cursor+1 {
				// Pruned before this endpoint had them: no server leased it
				// for the max age, so they would be dead letters by now.
				ep.giveUp(cursor, e.Seq-1, &p, "events were pruned before delivery")
			}
			if err := ep.replica.Apply(e); err != nil {
				ep.replica = nil
				return fmt.Errorf("follow the sale: %w", err)
			}
			if err := ep.send(ctx, e, &p); err != nil {
				// Not delivered: the replica is ahead of the cursor, and
				// replaying is what puts it right.
				ep.replica = nil
				return err
			}
			cursor = e.Seq
			ep.cursor.Store(cursor)
			if err := p.maybeRecord(ctx, cursor); err != nil {
				return err
			}
		}
		if len(events) > 0 {
			continue
		}
		if err := p.record(ctx, cursor, nil); err != nil {
			return err
		}
		select {
		case <-more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// replay returns the sale as of cursor, from the events the store keeps:
// they begin at the first event or at a reset no later than any endpoint's
// cursor (sale.Outbox), so Apply rebuilds it exactly.
func (ep *endpoint) replay(ctx context.Context, cursor uint64) (*rules.Sale, error) {
	r, err := rules.New(sale.Config{})
	if err != nil {
		return nil, err
	}
	after := uint64(0)
	for after < cursor {
		events, _, err := ep.d.cfg.Outbox.Pending(ctx, after, pageSize)
		if err != nil {
			return nil, fmt.Errorf("replay the sale up to %d: %w", cursor, err)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if e.Seq > cursor {
				return r, nil
			}
			if e.Seq > r.Seq()+1 && e.Kind != sale.EventReset {
				return nil, fmt.Errorf("replay the sale up to %d: the events after %d: %w", cursor, r.Seq(), errGone)
			}
			if err := r.Apply(e); err != nil {
				return nil, fmt.Errorf("replay the sale up to %d: %w", cursor, err)
			}
			after = e.Seq
		}
	}
	if r.Seq() < cursor {
		return nil, fmt.Errorf("replay the sale up to %d: the events stop at %d: %w", cursor, r.Seq(), errGone)
	}
	return r, nil
}

// errGone: the events a replay needs are no longer kept.
var errGone = errors.New("the events are no longer kept")

// Snapshotter is an Outbox that gives a copy of the sale as committed now
// (store.Store is one). A memory store keeps a bounded number of the events
// an endpoint is owed; one that fell further behind goes on from the copy.
type Snapshotter interface {
	Snapshot(ctx context.Context) (*rules.Sale, error)
}

// resync goes on from the sale as committed now, when the events after
// cursor are gone and the copy cannot follow: those up to the copy's Seq
// are dead letters. It returns the new cursor.
func (ep *endpoint) resync(ctx context.Context, cursor uint64, p *progress) (uint64, error) {
	snap, ok := ep.d.cfg.Outbox.(Snapshotter)
	if !ok {
		return cursor, fmt.Errorf("the events after %d are gone, and the store gives no copy of the sale to go on from", cursor)
	}
	r, err := snap.Snapshot(ctx)
	if err != nil {
		return cursor, fmt.Errorf("copy the sale to go on from: %w", err)
	}
	ep.replica = r
	ep.giveUp(cursor, r.Seq(), p, "the store no longer kept the events owed; going on from the sale as it is")
	ep.cursor.Store(r.Seq())
	return r.Seq(), p.record(ctx, r.Seq(), errGivenUp)
}

// errGivenUp is the endpoint's last error after events were given up.
var errGivenUp = errors.New("events were given up before delivery: see the dead letters")

// giveUp counts the events after cursor up to last as dead letters, and
// logs them once.
func (ep *endpoint) giveUp(cursor, last uint64, p *progress, why string) {
	if last <= cursor {
		return
	}
	n := last - cursor
	ep.dead.Add(n)
	p.dead += n
	ep.log.Error("webhook: "+why+"; counted as dead letters", "first", cursor+1, "last", last)
}

func (ep *endpoint) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-ep.d.cfg.Clock.After(d):
	}
}

// progress is what delivery has recorded of itself in the store.
type progress struct {
	ep       *endpoint
	recorded uint64    // the cursor the store has
	at       time.Time // when it was last recorded
	dead     uint64    // dead letters not recorded yet
}

// maybeRecord records cursor when enough events or time have passed.
func (p *progress) maybeRecord(ctx context.Context, cursor uint64) error {
	if cursor-p.recorded < ackEvery && p.dead == 0 && p.ep.d.cfg.Clock.Now().Sub(p.at) < ackInterval {
		return nil
	}
	return p.record(ctx, cursor, nil)
}

// record records cursor, the dead letters counted since the last record,
// and failure (nil: none) in the store.
func (p *progress) record(ctx context.Context, cursor uint64, failure error) error {
	if cursor == p.recorded && p.dead == 0 && failure == nil {
		return nil
	}
	now := p.ep.d.cfg.Clock.Now()
	err := p.ep.d.cfg.Outbox.Acknowledge(ctx, sale.Ack{
		URL: p.ep.url, Holder: p.ep.d.cfg.Holder, Cursor: cursor, Dead: p.dead,
		Failure: failure, FailedAt: now,
	})
	if err != nil {
		if errors.Is(err, sale.ErrLeaseLost) {
			return err
		}
		// The store is down: delivery goes on (the lease bounds for how
		// long), and what was not recorded may be sent again.
		p.ep.log.Warn("webhook: could not record progress", "cursor", cursor, "err", err)
		return nil
	}
	p.recorded, p.at, p.dead = cursor, now, 0
	return nil
}
