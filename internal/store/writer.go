package store

import (
	"context"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// write is the writer goroutine: each time calls have queued, it takes the
// lock and commits what has queued by then, up to maxBatch calls, as one
// batch, and answers them. It takes no call before it holds the lock, so
// that a call is either queued (Stats.Queued) or in a batch, and whoever
// holds the lock first (a caller leading a batch of its own, or the writer)
// takes it.
func (s *Store) write() {
	defer close(s.stopped)
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case <-s.queued:
		case <-s.closing:
			s.refuse()
			return
		}
		s.mu.Lock()
		select {
		case <-s.closing: // before more work, however much is queued
			s.mu.Unlock()
			s.refuse()
			return
		default:
		}
		batch = s.fill(batch[:0])
		if len(batch) == 0 { // a leader took them
			s.mu.Unlock()
			continue
		}
		batch = s.commit(batch)
		s.mu.Unlock()
		answer(batch)
		if len(s.queue) > 0 {
			s.wakeWriter() // more came than one batch takes
		}
	}
}

// wakeWriter tells the writer that calls have queued.
func (s *Store) wakeWriter() {
	select {
	case s.queued <- struct{}{}:
	default: // it has been told already
	}
}

// refuse answers every call still queued, the store being closed.
func (s *Store) refuse() {
	for {
		select {
		case o := <-s.queue:
			o.err = errClosed
			close(o.done)
		default:
			return
		}
	}
}

// answer tells each call of a committed batch that its answer is ready; the
// call that led the batch is not waiting.
func answer(batch []*op) {
	for _, o := range batch {
		if o.done != nil {
			close(o.done)
		}
	}
}

// commit decides and commits one batch, setting each op's err, and returns
// it with the calls that joined it. s.mu is held.
func (s *Store) commit(batch []*op) []*op {
	failAll := func(err error) {
		for _, o := range batch {
			o.err = err
		}
	}
	if err := s.ready(); err != nil {
		failAll(err)
		return batch
	}
	ctx := s.batchContext()
	start := s.clock.Now()
	tx, err := s.journal.Begin(ctx)
	if err != nil {
		failAll(s.failed(fmt.Errorf("begin: %w", err)))
		return batch
	}
	missed, err := tx.Since(ctx, s.sale.Seq())
	if err == nil {
		err = s.applyAll(missed)
	}
	if err != nil {
		_ = tx.Rollback()
		failAll(s.failed(fmt.Errorf("catch up: %w", err)))
		s.stale = err
		s.recover(ctx)
		return batch
	}
	s.feed.add(missed)
	s.stats.followed.Add(uint64(len(missed)))
	// Calls that queued while the transaction began (for a shared journal,
	// while it waited for the other servers' batches to commit) join this
	// one: the busier the database, the bigger the batch.
	batch = s.fill(batch)
	// The journal is where keys are kept: the rules get the records of
	// this batch's keys, read under the same lock as the catch-up, so they
	// include every other server's commit before this batch.
	defer s.sale.ClearKeys()
	if ids := keysOf(batch); len(ids) > 0 {
		records, err := tx.Keys(ctx, ids)
		if err != nil {
			_ = tx.Rollback()
			failAll(s.failed(fmt.Errorf("read idempotency keys: %w", err)))
			return batch
		}
		s.sale.LoadKeys(records)
	}

	ran := 0
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.err = err // gave up before anything was decided for it
			continue
		}
		o.err = s.decide(o)
		ran++
	}
	events, keys := s.sale.Take(), s.sale.TakeKeys()
	if len(events) == 0 && len(keys) == 0 {
		_ = tx.Rollback()
		return batch
	}
	if err := tx.Commit(ctx, events, keys); err != nil {
		made, known := s.outcome(events, keys)
		if made {
			// Only the commit's answer was lost: the batch is durable,
			// the state in memory is exactly what it committed, and
			// every answer stands.
			s.stats.batch(ran, len(events), s.clock.Now().Sub(start))
			s.feed.add(events)
			return batch
		}
		// Every call in the batch may have decided on another's change, so
		// none of their answers stands.
		answer := s.failed(fmt.Errorf("commit: %w", err))
		if !known {
			// For this batch only: calls refused later, during the
			// backoff, were not tried at all.
			answer = fmt.Errorf("%w (%w)", answer, sale.ErrOutcomeUnknown)
		}
		failAll(answer)
		s.stale = err
		s.recover(ctx)
		return batch
	}
	s.stats.batch(ran, len(events), s.clock.Now().Sub(start))
	s.feed.add(events)
	return batch
}

// batchContext bounds a batch's journal work. It ends journalTimeout after
// it was made and is made anew once less than half of that is left: a batch
// has between half and all of journalTimeout, and a store committing one
// change at a time does not start a timer for each. s.mu is held.
func (s *Store) batchContext() context.Context {
	if deadline, _ := s.batchCtx.Deadline(); time.Until(deadline) < journalTimeout/2 {
		s.batchCancel()
		s.batchCtx, s.batchCancel = context.WithTimeout(context.Background(), journalTimeout)
	}
	return s.batchCtx
}

// keysOf returns the idempotency keys of the calls in batch.
func keysOf(batch []*op) []sale.KeyID {
	var ids []sale.KeyID
	for _, o := range batch {
		if o.key != nil {
			ids = append(ids, *o.key)
		}
	}
	return ids
}

// fill adds what has queued, without waiting, up to maxBatch calls.
func (s *Store) fill(batch []*op) []*op {
	for len(batch) < maxBatch {
		select {
		case o := <-s.queue:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// decide runs one op's decision, turning a panic (a bug) into an error and
// the state stale, so that one bad call cannot take the server down or
// leave half a change in memory.
func (s *Store) decide(o *op) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: decision panicked: %v", p)
			s.stale = err
		}
	}()
	return o.call.decide(s.sale, s.clock.Now())
}

// ready rebuilds stale state before a batch, unless the journal failed too
// recently to try again. s.mu is held.
func (s *Store) ready() error {
	if s.lastErr != nil && s.clock.Now().Before(s.retryAt) {
		return fmt.Errorf("%w: %w", sale.ErrUnavailable, s.lastErr)
	}
	if s.stale == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	if err := s.rebuild(ctx); err != nil {
		return s.failed(err)
	}
	return nil
}

// recover rebuilds the state at once after a failed batch, so that reads go
// on being answered from committed state while writes wait out retryAfter:
// a full disk stops sales, not the shoppers' view of them. Rebuilding only
// reads the journal; if even that fails, the state stays stale and the next
// batch tries again. s.mu is held.
func (s *Store) recover(ctx context.Context) {
	if err := s.rebuild(ctx); err != nil {
		s.lastErr = fmt.Errorf("%w; then rebuilding: %w", s.lastErr, err)
	}
}

// rebuild replaces the in-memory state with the journal's. s.mu is held (or
// the store is not yet shared).
func (s *Store) rebuild(ctx context.Context) error {
	r, err := rules.New(s.cfg)
	if err != nil {
		return err
	}
	for after := uint64(0); ; {
		events, err := s.journal.Read(ctx, after, replayPage)
		if err != nil {
			return fmt.Errorf("rebuild the sale: read events after %d: %w", after, err)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if err := r.Apply(e); err != nil {
				return fmt.Errorf("rebuild the sale: the journal is inconsistent: %w", err)
			}
		}
		// A commit reported as failed may still have been made (a
		// database that committed and then lost the connection): its
		// events are in the journal, so the feed gets them now, in order
		// and without a gap.
		if last := s.feed.newest(); last > 0 && events[len(events)-1].Seq > last {
			var unseen []sale.Event
			for _, e := range events {
				if e.Seq > last {
					unseen = append(unseen, e)
				}
			}
			s.feed.add(unseen)
		}
		after = events[len(events)-1].Seq
	}
	s.sale, s.stale = r, nil
	return nil
}

func (s *Store) applyAll(events []sale.Event) error {
	for _, e := range events {
		if err := s.sale.Apply(e); err != nil {
			return err
		}
	}
	return nil
}

// failed records a journal failure and returns what callers get for it.
func (s *Store) failed(err error) error {
	s.lastErr, s.retryAt = err, s.clock.Now().Add(s.retryAfter)
	s.stats.failures.Add(1)
	return fmt.Errorf("%w: %w", sale.ErrUnavailable, err)
}

// outcome finds out whether a batch whose commit reported failure was
// committed all the same (a database that committed and then lost the
// connection before saying so). It takes the journal's write lock first
// (Begin, then Since: the sale row, for PostgreSQL), which the failed
// transaction held until it ended, committed or not: only then is what the
// journal holds final. known is false when the journal cannot be asked.
func (s *Store) outcome(events []sale.Event, keys []sale.KeyRecord) (made, known bool) {
	ctx, cancel := context.WithTimeout(context.Background(), outcomeTimeout)
	defer cancel()
	tx, err := s.journal.Begin(ctx)
	if err != nil {
		return false, false
	}
	defer func() { _ = tx.Rollback() }()
	if len(events) == 0 {
		// Only keys (every call answered with a conflict): the batch is
		// made if its last record is kept, at its instant.
		if _, err := tx.Since(ctx, s.sale.Seq()); err != nil {
			return false, false
		}
		last := keys[len(keys)-1]
		got, err := tx.Keys(ctx, []sale.KeyID{last.ID})
		if err != nil {
			return false, false
		}
		for _, r := range got {
			if r.At.Equal(last.At) {
				return true, true
			}
		}
		return false, true
	}
	last := events[len(events)-1].Seq
	if _, err := tx.Since(ctx, last); err != nil {
		return false, false
	}
	got, err := s.journal.Read(ctx, events[0].Seq-1, len(events))
	if err != nil {
		return false, false
	}
	// A reset in the batch deleted what came before it, in the batch too.
	want := events
	for i, e := range events {
		if e.Kind == sale.EventReset {
			want = events[i:]
		}
	}
	if len(got) < len(want) {
		return false, true
	}
	for i := range want {
		if !sameEvent(got[i], want[i]) {
			return false, true // another server's, at the same Seq
		}
	}
	return true, true
}

func sameEvent(a, b sale.Event) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.At.Equal(b.At) && a.UserID == b.UserID &&
		a.ReservationID == b.ReservationID && a.Position == b.Position &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Total == b.Total
}
