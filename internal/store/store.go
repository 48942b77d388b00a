// Package store runs a sale for every backend: the rules of internal/rules
// on their in-memory state, one lock around them, the feed of committed
// events, and group commit through the backend's Journal. A backend package
// (memory, sqlite, postgres) only says where the events are kept; the
// memory store's journal keeps none.
//
// Every change is decided and committed in a batch, and for each batch,
// holding the lock throughout, the store
//
//  1. begins a journal transaction and applies what other processes
//     committed since (nothing, for a journal this process owns alone),
//     and reads the records of the batch's idempotency keys;
//  2. runs each call's decision on the state, in arrival order;
//  3. commits the events they emitted, and the answers of the keyed ones,
//     in that one transaction;
//  4. publishes the events to the feed and answers every caller.
//
// A caller that finds the lock free leads a batch itself: its own call,
// then whatever has queued. A caller that finds it taken queues, and the
// writer goroutine commits what queued as the next batch. So a store nobody
// else is changing answers with no goroutine in between (the memory
// store's commit costs nothing, so that is nearly always), and a busy one
// commits many calls at once (a durable commit waits for the disk or the
// database, and calls queue meanwhile).
//
// An answer always describes committed state, and no one can observe a
// change before it is durable: reads take the same lock. A read that would
// first have to expire a hold is a change, and is batched like one. If the
// commit fails, every call in the batch gets sale.ErrUnavailable, and the
// in-memory state, which already holds the batch's changes, is rebuilt
// from the journal at once (or, if the journal cannot even be read, marked
// stale and rebuilt before the next batch). docs/design.md argues each
// point.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// Journal keeps a sale's events durably. It need not be safe for concurrent
// use by more than the store's writer plus concurrent Reads and SigningKey
// calls.
type Journal interface {
	// Read returns up to limit committed events with Seq > after, oldest
	// first. Events before the last reset may be gone: asked for them, Read
	// starts at that reset.
	Read(ctx context.Context, after uint64, limit int) ([]sale.Event, error)
	// Begin starts the transaction that one batch is committed in.
	Begin(ctx context.Context) (Batch, error)
	// SigningKey returns the secret kept under id, keeping fresh (which
	// it must not keep a reference to) first if id has none: the first
	// caller's secret is kept, whichever process or server it is, and
	// every later caller gets that one back. A secret is never changed.
	// It is safe to call from any goroutine, concurrently with the writer
	// and with Reads. id and fresh are not empty; the store copies the
	// secret before giving it out.
	SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error)
	// Close releases the journal.
	Close() error
}

// Shared is a Journal that other processes commit to as well: several
// servers on one database. The store then follows their commits, so that
// its feed carries them, and before answering a read from memory it first
// applies everything committed before the read began (the read barrier),
// so a read is linearizable across all the servers.
type Shared interface {
	Journal
	// Head returns the Seq of the newest committed event.
	Head(ctx context.Context) (uint64, error)
	// Watch calls changed, from one goroutine, each time others may have
	// committed, with the newest Seq they reported or 0 when it is not
	// known (after the watch lost and regained its connection). It returns
	// when ctx ends.
	Watch(ctx context.Context, changed func(seq uint64))
}

// Batch is one journal transaction.
type Batch interface {
	// Since returns the events committed by others after seq, the last one
	// this process applied; the transaction keeps others from committing
	// until it ends. A journal owned by one process returns none.
	Since(ctx context.Context, after uint64) ([]sale.Event, error)
	// Keys returns the key records kept for ids (one key may have an
	// expired record and a newer one; the rules judge expiry).
	Keys(ctx context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error)
	// Commit appends events, keeps key records, and commits: all of them
	// or none. When it returns nil, they are durable. Each key record
	// kept forgets those whose TTL has passed by its time and, beyond the
	// journal's MaxKeys, the oldest, so that the journal's keys are
	// bounded as the rules' are.
	Commit(ctx context.Context, events []sale.Event, keys []sale.KeyRecord) error
	// Rollback ends the transaction, writing nothing.
	Rollback() error
}

// Limits of the writer, written once here.
const (
	// maxBatch bounds the calls decided and committed together. Big enough
	// that a crowd's calls share a commit, small enough that one batch does
	// not hold the lock for long.
	maxBatch = 512
	// journalTimeout bounds one journal transaction.
	journalTimeout = 10 * time.Second
	// outcomeTimeout bounds finding out whether a commit that reported
	// failure was made.
	outcomeTimeout = 5 * time.Second
	// replayPage is how many events a rebuild reads at a time.
	replayPage = 4096
	// feedKeep is how many of the newest events the feed keeps in memory;
	// a consumer further behind reads the journal (or, with none, gets
	// sale.ErrEventsGone).
	feedKeep = 1 << 16
)

// Store is a sale.Store over the rules, kept in memory or in a Journal.
type Store struct {
	clock   sale.Clock
	cfg     sale.Config
	journal Journal // nil: memory only
	shared  Shared  // journal, when other processes write it too

	// retryAfter is how long the store answers ErrUnavailable at once after
	// a journal failure, before trying again (sale.RetryAfter; tests
	// shorten it).
	retryAfter time.Duration

	mu          sync.Mutex
	batchCtx    context.Context // bounds a batch's journal work (batchContext)
	batchCancel context.CancelFunc
	sale        *rules.Sale
	stale       error     // set when sale may hold changes the journal refused
	lastErr     error     // the last journal failure
	retryAt     time.Time // no journal work before this, after a failure

	feed feed
	sync syncer // read barriers and catching up on others' commits

	queue        chan *op
	queued       chan struct{} // a token for the writer: calls have queued
	closing      chan struct{}
	stopped      chan struct{}
	close        sync.Once // stops the writer
	closeJournal sync.Once

	stats counters

	inflight inflight // keys whose first attempt runs now
}

// op is one call in a batch.
type op struct {
	ctx  context.Context
	key  *sale.KeyID // the call's idempotency key, if it has one
	call decision
	err  error
	done chan struct{} // closed once it is answered; nil for the call that leads its batch
}

// decision is what a call decides, on the state and at the instant its batch
// gives it; it keeps its own result.
type decision interface {
	decide(r *rules.Sale, now time.Time) error
}

// call is an op and its decision in one allocation: a batch decides it
// through op.call, and its caller reads out once it is answered.
type call[T any] struct {
	op
	fn  func(*rules.Sale, time.Time) (T, error)
	out T
}

func (c *call[T]) decide(r *rules.Sale, now time.Time) error {
	v, err := c.fn(r, now)
	c.out = v
	return err
}

var _ sale.Store = (*Store)(nil)

// Open returns a store over journal, rebuilt from the events it holds, with
// every hold that expired meanwhile expired now. The store closes the
// journal when it is closed; if Open fails, the journal is still the
// caller's.
func Open(ctx context.Context, journal Journal, cfg sale.Config) (*Store, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	r, err := rules.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{
		clock:      cfg.Clock,
		cfg:        cfg,
		journal:    journal,
		retryAfter: sale.RetryAfter,
		sale:       r,
		closing:    make(chan struct{}),
		stopped:    make(chan struct{}),
		// Already over: the first batch makes its own.
		batchCtx: context.Background(), batchCancel: func() {},
	}
	s.feed.keep = feedKeep
	if err := s.rebuild(ctx); err != nil {
		return nil, err
	}
	s.feed.last = s.sale.Seq()
	s.queue, s.queued = make(chan *op, maxBatch), make(chan struct{}, 1)
	go s.write()
	if shared, ok := journal.(Shared); ok {
		s.shared = shared
		s.startWatch()
	}
	if _, err := s.Expire(ctx); err != nil {
		s.stop() // the journal stays the caller's to close
		return nil, fmt.Errorf("open store: expire holds due since the last run: %w", err)
	}
	return s, nil
}

// stop stops the writer; calls still waiting get sale.ErrUnavailable.
func (s *Store) stop() {
	s.close.Do(func() {
		close(s.closing)
		<-s.stopped
		s.stopWatch()
	})
}

// Close stops the writer and closes the journal. Calls still waiting get
// sale.ErrUnavailable.
func (s *Store) Close() error {
	s.stop()
	var err error
	s.closeJournal.Do(func() {
		// A caller committing its own batch (lead) holds the lock: the
		// journal is closed once it is done, and the next finds the store
		// closing.
		s.mu.Lock()
		defer s.mu.Unlock()
		s.batchCancel()
		err = s.journal.Close()
	})
	return err
}

// Do implements sale.Store: the change c, once per key when it has one.
func (s *Store) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	ans, err := s.do(ctx, c, key)
	if err != nil {
		return sale.Answer{}, err
	}
	if ans.Replayed {
		s.stats.replays.Add(1)
	}
	return ans, ans.Err
}

// do decides c, under its key when it has one; its error is the store's.
func (s *Store) do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	if key == "" {
		return change(ctx, s, nil, func(r *rules.Sale, now time.Time) (sale.Answer, error) {
			return r.Do(now, c), nil
		})
	}
	id := rules.KeyOf(c, key)
	if !s.inflight.begin(id) {
		return sale.Answer{}, fmt.Errorf("%s with idempotency key %q: %w", c, key, sale.ErrKeyInFlight)
	}
	defer s.inflight.end(id)
	return change(ctx, s, &id, func(r *rules.Sale, now time.Time) (sale.Answer, error) {
		return r.Keyed(now, id, c), nil
	})
}

// Leave implements sale.Store.
func (s *Store) Leave(ctx context.Context, userID string) error {
	_, err := change(ctx, s, nil, func(r *rules.Sale, now time.Time) (struct{}, error) {
		return struct{}{}, r.Leave(now, userID)
	})
	return err
}

// Expire implements sale.Store.
func (s *Store) Expire(ctx context.Context) (int, error) {
	return read(ctx, s, func(*rules.Sale) (int, error) { return 0, nil },
		func(r *rules.Sale, now time.Time) (int, error) { return r.Expire(now), nil })
}

// Reservation implements sale.Store.
func (s *Store) Reservation(ctx context.Context, id string) (sale.Reservation, error) {
	get := func(r *rules.Sale) (sale.Reservation, error) { return r.Reservation(id) }
	return read(ctx, s, get, expireThen(get))
}

// User implements sale.Store.
func (s *Store) User(ctx context.Context, userID string) (sale.UserState, error) {
	get := func(r *rules.Sale) (sale.UserState, error) { return r.User(userID), nil }
	return read(ctx, s, get, expireThen(get))
}

// UserAsOf is User for a reader that only needs a state that includes
// the event seq, one it heard of from this store's own feed (an event
// stream woken by it): the feed hands out an event only once this server
// has applied it, so a store shared by servers then answers from memory,
// without the catch-up round with the database that User makes to include
// every other server's commits. Only if seq is not applied yet does it
// catch up first.
func (s *Store) UserAsOf(ctx context.Context, userID string, seq uint64) (sale.UserState, error) {
	get := func(r *rules.Sale) (sale.UserState, error) { return r.User(userID), nil }
	return readAsOf(ctx, s, seq, get, expireThen(get))
}

// Status implements sale.Store.
func (s *Store) Status(ctx context.Context) (sale.Status, error) {
	get := func(r *rules.Sale) (sale.Status, error) { return r.Status(), nil }
	return read(ctx, s, get, expireThen(get))
}

// Entrants implements sale.Store.
func (s *Store) Entrants(ctx context.Context) ([]string, error) {
	get := func(r *rules.Sale) ([]string, error) { return r.Entrants(), nil }
	return read(ctx, s, get, expireThen(get))
}

func expireThen[T any](get func(*rules.Sale) (T, error)) func(*rules.Sale, time.Time) (T, error) {
	return func(r *rules.Sale, now time.Time) (T, error) {
		r.Expire(now)
		return get(r)
	}
}

// read answers from memory when nothing is due to expire (the common case,
// a pure read under the lock) and otherwise runs asChange as a change.
func read[T any](ctx context.Context, s *Store, get func(*rules.Sale) (T, error), asChange func(*rules.Sale, time.Time) (T, error)) (T, error) {
	return readAsOf(ctx, s, asOfNow, get, asChange)
}

// asOfNow asks readAsOf for every change acknowledged anywhere before the
// read: a catch-up round on a shared store.
const asOfNow = math.MaxUint64

// readAsOf is read for a state that includes the event seq at least.
func readAsOf[T any](ctx context.Context, s *Store, seq uint64, get func(*rules.Sale) (T, error), asChange func(*rules.Sale, time.Time) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	if s.shared != nil && (seq == asOfNow || s.applied() < seq) {
		if err := s.barrier(ctx); err != nil {
			var zero T
			return zero, err
		}
	}
	s.mu.Lock()
	if s.stale == nil && !s.sale.Due(s.clock.Now()) {
		v, err := get(s.sale)
		s.mu.Unlock()
		return v, err
	}
	s.mu.Unlock()
	return change(ctx, s, nil, asChange)
}

// applied is the newest event this store has applied.
func (s *Store) applied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sale.Seq()
}

// change runs decide as one atomic step in a committed batch, answering
// once the batch is committed. key is the call's idempotency key, for the
// batch to look up before it is decided.
//
// Whoever finds the store's lock free commits the batch itself (lead): its
// own call first, then whatever has queued, so that a store nobody else is
// changing answers with no goroutine in between. A call that finds the lock
// taken queues for the writer, which commits what queued while someone else
// held the lock: the busier the store, the bigger the batches (group
// commit). docs/design.md argues why both give the same answers.
func change[T any](ctx context.Context, s *Store, key *sale.KeyID, decide func(*rules.Sale, time.Time) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	// c.out is written by whoever commits the batch and read here only
	// after it is committed; a caller that gives up first never reads it.
	c := &call[T]{fn: decide}
	c.op = op{ctx: ctx, key: key, call: c}
	o := &c.op
	if s.mu.TryLock() {
		if err := s.lead(o); err != nil {
			return zero, err
		}
		return c.out, o.err
	}
	o.done = make(chan struct{})
	select {
	case s.queue <- o:
		s.wakeWriter()
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-s.closing:
		return zero, errClosed
	}
	select {
	case <-o.done:
		return c.out, o.err
	case <-ctx.Done():
		// The change may still be made: to this caller its outcome is
		// unknown, as with any request whose answer was lost.
		return zero, ctx.Err()
	case <-s.stopped:
		select {
		case <-o.done:
			return c.out, o.err
		default:
			return zero, errClosed
		}
	}
}

// lead commits a batch that begins with o and answers every other call in
// it; o's answer is left in o. s.mu is held, and released here. It refuses
// o once the store is closing, as the writer refuses what queued.
func (s *Store) lead(o *op) error {
	select {
	case <-s.closing:
		s.mu.Unlock()
		return errClosed
	default:
	}
	var first [1]*op
	first[0] = o
	batch := first[:]
	defer s.failLed(&batch)
	batch = s.commit(s.fill(batch))
	s.mu.Unlock()
	answer(batch)
	return nil
}

// failLed handles a journal's panic (a bug) in a leader's batch, in the
// caller's goroutine, which the HTTP layer recovers from: the lock is not
// left held, the batch is refused, and the state, which may hold half of
// it, is rebuilt from the journal before anything else is decided. s.mu
// is held while the panic unwinds.
func (s *Store) failLed(batch *[]*op) {
	p := recover()
	if p == nil {
		return
	}
	s.stale = fmt.Errorf("store: committing a batch panicked: %v", p)
	for _, q := range *batch {
		q.err = fmt.Errorf("%w: %w", sale.ErrUnavailable, s.stale)
	}
	s.mu.Unlock()
	answer(*batch)
	panic(p)
}

var errClosed = fmt.Errorf("%w: the store is closed", sale.ErrUnavailable)

// Events implements sale.Feed.
func (s *Store) Events(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	if limit < 1 {
		return nil, nil, fmt.Errorf("events: %w: limit %d must be positive", sale.ErrInvalid, limit)
	}
	events, more, last, ok := s.feed.page(after, limit, true)
	if ok {
		return events, more, nil
	}
	if s.shared != nil && after > last {
		// Another server made it (a consumer that moved between servers
		// resumes from what the last one told it): catch up, look again.
		if err := s.barrier(ctx); err != nil {
			return nil, nil, err
		}
		if events, more, last, ok = s.feed.page(after, limit, true); ok {
			return events, more, nil
		}
	}
	if after > last {
		return nil, nil, fmt.Errorf("events after %d (the newest is %d): %w", after, last, sale.ErrEventsGone)
	}
	events, err := s.journal.Read(ctx, after, limit)
	switch {
	case errors.Is(err, sale.ErrEventsGone): // a journal that keeps none
		return nil, nil, fmt.Errorf("events after %d: %w", after, err)
	case err != nil:
		return nil, nil, fmt.Errorf("%w: read events after %d: %w", sale.ErrUnavailable, after, err)
	}
	if len(events) == 0 || events[len(events)-1].Seq < last {
		return events, closedChan, nil
	}
	return events, more, nil
}

// Newest implements sale.Feed: the newest event this server has published,
// its own or (with a shared journal) one it followed; a consumer starting
// after it hears of every later one, through the same feed.
func (s *Store) Newest(context.Context) (uint64, error) { return s.feed.newest(), nil }
