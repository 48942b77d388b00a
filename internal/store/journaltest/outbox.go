package journaltest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// OutboxJournal is what the outbox tests read of a journal: what it keeps
// (ReadAll) and what a replay reads (Read, from the last reset).
type OutboxJournal interface {
	store.Outboxer
	Read(ctx context.Context, after uint64, limit int) ([]sale.Event, error)
}

// Opener opens a store with cfg, and returns its journal too, on one
// storage (a file, a schema); the store is closed when t ends. Each call
// opens the same storage: a test reopens it after closing the store, or,
// when the journal is shared (store.Shared), opens a second server beside
// the first.
type Opener func(t *testing.T, cfg sale.Config) (*store.Store, OutboxJournal)

// Outbox runs the tests of a durable journal's outbox (store.Outboxer),
// each on the fresh storage that storage gives it: what the journal keeps
// through resets and acknowledgements, across a restart, and who holds a
// lease. They run side by side, each on storage of its own.
func Outbox(t *testing.T, storage func(t *testing.T) Opener) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Pruning", outboxPruning},
		{"AfterARestart", outboxAfterARestart},
		{"Leases", outboxLeases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, storage(t))
		})
	}
}

const (
	hookA = "https://a.example/hooks"
	hookB = "https://b.example/hooks"
	hookC = "https://c.example/hooks"
)

// withHooks is a store's config on clock, keeping cursors for endpoints.
func withHooks(clock sale.Clock, endpoints ...string) sale.Config {
	return sale.Config{HoldTTL: time.Minute, Clock: clock, Outbox: sale.OutboxConfig{Endpoints: endpoints}}
}

// run makes each change in turn.
func run(t *testing.T, s sale.Store, calls ...sale.Call) {
	t.Helper()
	for _, c := range calls {
		if _, err := s.Do(t.Context(), c, ""); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
}

func initialize(total int64, reset bool) sale.Call {
	return sale.Call{Op: sale.OpInitialize, Total: total, Reset: reset}
}

func reserve(user string) sale.Call { return sale.Call{Op: sale.OpReserve, UserID: user} }

// seqsOf is the Seqs of events, in order.
func seqsOf(events []sale.Event) []uint64 {
	seqs := make([]uint64, len(events))
	for i, e := range events {
		seqs[i] = e.Seq
	}
	return seqs
}

// Span is the Seqs from..to.
func Span(from, to uint64) []uint64 {
	var seqs []uint64
	for seq := from; seq <= to; seq++ {
		seqs = append(seqs, seq)
	}
	return seqs
}

// WantKept checks what j keeps (ReadAll) and what a replay reads (Read,
// from the last reset, at replayFrom).
func WantKept(t *testing.T, j OutboxJournal, kept []uint64, replayFrom uint64) {
	t.Helper()
	all, err := j.ReadAll(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(all); !slices.Equal(got, kept) {
		t.Fatalf("the journal keeps %v; want %v", got, kept)
	}
	replay, err := j.Read(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(replay) == 0 || replay[0].Seq != replayFrom || replay[0].Kind != sale.EventReset || replay[len(replay)-1].Seq != kept[len(kept)-1] {
		t.Fatalf("a replay reads %v; want it from the reset at %d to %d", seqsOf(replay), replayFrom, kept[len(kept)-1])
	}
}

// lease leases url for holder, which must get it.
func lease(t *testing.T, s *store.Store, url, holder string) sale.Lease {
	t.Helper()
	l, err := s.Lease(t.Context(), url, holder, 30*time.Second)
	if err != nil || !l.Held {
		t.Fatalf("lease %s for %s: %+v, %v; want it held", url, holder, l, err)
	}
	return l
}

// sameLease and sameEndpoint compare their times as instants.
func sameLease(a, b sale.Lease) bool {
	return a.Held == b.Held && a.Cursor == b.Cursor && a.Holder == b.Holder && a.Until.Equal(b.Until)
}

func sameEndpoint(a, b sale.Endpoint) bool {
	return a.URL == b.URL && a.Cursor == b.Cursor && a.Holder == b.Holder && a.LeaseUntil.Equal(b.LeaseUntil) &&
		a.DeadLetters == b.DeadLetters && a.LastError == b.LastError && a.LastErrorAt.Equal(b.LastErrorAt)
}

func ack(t *testing.T, s *store.Store, url, holder string, cursor uint64) {
	t.Helper()
	if err := s.Acknowledge(t.Context(), sale.Ack{URL: url, Holder: holder, Cursor: cursor}); err != nil {
		t.Fatal(err)
	}
}

// outboxPruning: a reset keeps the events before it that an endpoint has
// not acknowledged, from the last reset at or before the slowest cursor,
// and they go once every endpoint has them; an endpoint nobody leased for
// MaxAge holds nothing back. A replay starts at the last reset throughout.
func outboxPruning(t *testing.T, open Opener) {
	clock := clocktest.New(t0)
	s, j := open(t, withHooks(clock, hookA, hookB))
	// 1 initialized, 2 granted, 3 joined, 4 reset, 5 initialized, 6 granted
	run(t, s, initialize(1, false), reserve("alice"), reserve("bob"), initialize(3, true), reserve("carol"))
	WantKept(t, j, Span(1, 6), 4)

	lease(t, s, hookA, "one")
	ack(t, s, hookA, "one", 6)
	WantKept(t, j, Span(1, 6), 4) // B has none of them
	lease(t, s, hookB, "one")
	ack(t, s, hookB, "one", 3)
	WantKept(t, j, Span(1, 6), 4) // B replays from the start: no reset is at or before 3
	ack(t, s, hookB, "one", 4)
	WantKept(t, j, Span(4, 6), 4)

	// 7 reset, 8 initialized: B, at 4, replays from the reset at 4.
	run(t, s, initialize(2, true))
	WantKept(t, j, Span(4, 8), 7)
	ack(t, s, hookA, "one", 8)
	WantKept(t, j, Span(4, 8), 7)
	ack(t, s, hookB, "one", 8)
	WantKept(t, j, Span(7, 8), 7)

	// 9 granted; a day and more later (10 expired), the endpoints, last
	// seen at t0, no longer count: 11 reset, 12 initialized.
	run(t, s, reserve("dave"))
	clock.Advance(sale.DefaultWebhookMaxAge + time.Hour)
	run(t, s, initialize(1, true))
	WantKept(t, j, Span(11, 12), 11)
}

// outboxAfterARestart: a store reopened on the storage is on the new sale,
// though the journal keeps events from before the reset for an endpoint
// behind it; that endpoint's cursor, count and error are kept, and
// delivery resumes after it; an endpoint added at the restart starts at
// the newest event.
func outboxAfterARestart(t *testing.T, open Opener) {
	ctx := t.Context()
	clock := clocktest.New(t0)
	s, _ := open(t, withHooks(clock, hookA))
	// 1 initialized, 2 granted, 3 joined, 4 reset, 5 initialized, 6 granted
	run(t, s, initialize(1, false), reserve("alice"), reserve("bob"))
	lease(t, s, hookA, "one")
	failedAt := clock.Now().Add(-time.Second)
	if err := s.Acknowledge(ctx, sale.Ack{URL: hookA, Holder: "one", Cursor: 2, Dead: 1, Failure: errors.New("502 Bad Gateway"), FailedAt: failedAt}); err != nil {
		t.Fatal(err)
	}
	run(t, s, initialize(5, true), reserve("carol"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, j := open(t, withHooks(clock, hookA, hookC))
	WantKept(t, j, Span(1, 6), 4)
	if st, err := s.Status(ctx); err != nil || st.Total != 5 || st.Available != 4 || st.Held != 1 || st.Waiting != 0 {
		t.Fatalf("status after a restart: %+v, %v; want the new sale's, 5 units, 1 held", st, err)
	}
	for user, want := range map[string]sale.UserStateKind{"alice": sale.None, "bob": sale.None, "carol": sale.Holding} {
		if u, err := s.User(ctx, user); err != nil || u.State != want || u.Sale != 4 {
			t.Fatalf("%s after a restart: %+v, %v; want %s in the sale the reset at 4 began", user, u, err, want)
		}
	}

	eps, err := s.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantA := sale.Endpoint{URL: hookA, Cursor: 2, Holder: "one", LeaseUntil: t0.Add(30 * time.Second),
		DeadLetters: 1, LastError: "502 Bad Gateway", LastErrorAt: sale.Instant(failedAt)}
	wantC := sale.Endpoint{URL: hookC, Cursor: 6}
	if len(eps) != 2 || !sameEndpoint(eps[0], wantA) || !sameEndpoint(eps[1], wantC) {
		t.Fatalf("endpoints after a restart: %+v; want %+v and %+v", eps, wantA, wantC)
	}
	pending, more, err := s.Pending(ctx, 2, 100)
	if err != nil || !slices.Equal(seqsOf(pending), Span(3, 6)) {
		t.Fatalf("pending after A's cursor: %v, %v; want 3 to 6", seqsOf(pending), err)
	}
	select {
	case <-more:
		t.Fatal("pending up to the newest says there is more")
	default:
	}
	if l := lease(t, s, hookC, "two"); l.Cursor != 6 {
		t.Fatalf("lease of the new endpoint: %+v; want it at 6", l)
	}
}

// outboxLeases: one holder at a time, until its lease runs out (by the
// store's clock); the holder renews it; another's acknowledgement is
// refused, and the next holder takes the lease where the former left it.
// Where the journal is shared, the two holders are two servers on one
// storage, so that the lease is the journal's and not a store's; where a
// process owns it, they share the one store.
func outboxLeases(t *testing.T, open Opener) {
	ctx := t.Context()
	clock := clocktest.New(t0)
	one, j := open(t, withHooks(clock, hookA)) // at 0: no event yet
	two := one
	if _, shared := j.(store.Shared); shared {
		two, _ = open(t, withHooks(clock, hookA))
	}
	run(t, one, initialize(1, false))

	if l := lease(t, one, hookA, "one"); !sameLease(l, sale.Lease{Held: true, Cursor: 0, Holder: "one", Until: t0.Add(30 * time.Second)}) {
		t.Fatalf("first lease: %+v", l)
	}
	if l, err := two.Lease(ctx, hookA, "two", 30*time.Second); err != nil || !sameLease(l, sale.Lease{Holder: "one", Until: t0.Add(30 * time.Second)}) {
		t.Fatalf("lease while another holds it: %+v, %v", l, err)
	}
	if err := two.Acknowledge(ctx, sale.Ack{URL: hookA, Holder: "two", Cursor: 1}); !errors.Is(err, sale.ErrLeaseLost) {
		t.Fatalf("acknowledgement by another: %v; want ErrLeaseLost", err)
	}
	ack(t, one, hookA, "one", 1)
	clock.Advance(20 * time.Second)
	if l := lease(t, one, hookA, "one"); !l.Until.Equal(t0.Add(50 * time.Second)) {
		t.Fatalf("renewed lease: %+v", l)
	}
	clock.Advance(30 * time.Second) // exactly when it ends
	if l := lease(t, two, hookA, "two"); l.Cursor != 1 {
		t.Fatalf("lease taken over: %+v; want it where the former holder left it, 1", l)
	}
	if err := one.Acknowledge(ctx, sale.Ack{URL: hookA, Holder: "one", Cursor: 1}); !errors.Is(err, sale.ErrLeaseLost) {
		t.Fatalf("acknowledgement by the former holder: %v; want ErrLeaseLost", err)
	}
	if l, err := one.Lease(ctx, hookA, "one", 30*time.Second); err != nil || l.Held || l.Holder != "two" {
		t.Fatalf("lease by the former holder: %+v, %v; want it refused, held by two", l, err)
	}
	if _, err := one.Lease(ctx, hookB, "one", time.Second); !errors.Is(err, sale.ErrNoOutbox) {
		t.Fatalf("lease of an endpoint the journal does not keep: %v; want ErrNoOutbox", err)
	}
	if err := one.Acknowledge(ctx, sale.Ack{URL: hookB, Holder: "one"}); !errors.Is(err, sale.ErrNoOutbox) {
		t.Fatalf("acknowledgement for an endpoint the journal does not keep: %v; want ErrNoOutbox", err)
	}
}
