package conformance

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// RunOutboxDurable is the outbox's part for stores that keep the sale
// across a restart (RunDurable): an endpoint's cursor, dead letters and last
// error are kept, and so are the events it has yet to acknowledge, from
// before a reset too.
func RunOutboxDurable(t *testing.T, storage Storage) {
	stop := watchdog(Timeout)
	defer stop()
	for _, tc := range outboxDurableTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, storage(t)) })
	}
}

var outboxDurableTests = []test{
	{"CursorsSurviveARestart", cursorsSurviveARestart},
	{"EventsBeforeAResetSurviveARestart", eventsBeforeAResetSurviveARestart},
	{"AnEndpointAddedAtARestartStartsAtTheNewest", anEndpointAddedAtARestart},
}

// reopenOutbox closes the store and opens a new one on the same storage,
// with the same clock and hold TTL, keeping cursors for endpoints.
func (h *harness) reopenOutbox(f Factory, endpoints ...string) {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("close before reopening: %v", err)
	}
	h.s = f(h.t, sale.Config{HoldTTL: ttl, Clock: h.clock, Outbox: sale.OutboxConfig{Endpoints: endpoints}})
	h.outbox()
}

// cursorsSurviveARestart: what the endpoints acknowledged is kept, and
// delivery resumes after it.
func cursorsSurviveARestart(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(1, false)
	h.hold("alice")
	h.wait("bob", 1)
	h.wait("carol", 2)
	all := h.events()
	h.wantLease(shopA, "a", 0)
	failedAt := sale.Instant(h.now().Add(-1500 * time.Millisecond)).Add(987654 * time.Nanosecond)
	failure := errors.New("503 Service Unavailable")
	h.ack(sale.Ack{URL: shopA, Holder: "a", Cursor: 3, Dead: 2, Failure: failure, FailedAt: failedAt})
	h.wantLease(shopB, "b", 0)
	h.ack(sale.Ack{URL: shopB, Holder: "b", Cursor: 1})
	h.advance(time.Minute) // the leases run out
	want := map[string]sale.Endpoint{
		shopA: {URL: shopA, Cursor: 3, DeadLetters: 2, LastError: sale.ErrorText(failure), LastErrorAt: sale.Instant(failedAt)},
		shopB: {URL: shopB, Cursor: 1},
	}

	h.reopenOutbox(f, shopA, shopB)
	for url, e := range h.endpoints(shopA, shopB) {
		w := want[url]
		if e.Cursor != w.Cursor || e.DeadLetters != w.DeadLetters || e.LastError != w.LastError || !e.LastErrorAt.Equal(w.LastErrorAt) {
			t.Fatalf("after a restart: %s; want %s", showEndpoint(e), showEndpoint(w))
		}
	}
	// Another server picks up where each endpoint was left.
	h.wantLease(shopA, "a2", 3)
	h.wantLease(shopB, "b2", 1)
	if got := h.pendingAll(3); !slices.EqualFunc(got, all[3:], sameEvent) {
		t.Fatalf("pending after A's cursor after a restart: %s; want %s", showEvents(got), showEvents(all[3:]))
	}
	got, more := h.pending(1, 100)
	if !slices.EqualFunc(got, all[1:], sameEvent) {
		t.Fatalf("pending after B's cursor after a restart: %s; want %s", showEvents(got), showEvents(all[1:]))
	}
	wantOpen(t, "pending up to the newest after a restart", more)
	h.wait("dave", 3)
	wantWoken(t, "pending up to the newest after a restart, then a commit", more)
	newest := lastSeq(all) + 1
	h.ack(sale.Ack{URL: shopA, Holder: "a2", Cursor: newest})
	if e := h.endpoints(shopA, shopB)[shopA]; e.Cursor != newest || e.DeadLetters != 2 || e.LastError != "" || !e.LastErrorAt.IsZero() {
		t.Fatalf("delivered up to #%d after a restart: %s; want the error cleared, the dead letters kept", newest, showEndpoint(e))
	}
}

// eventsBeforeAResetSurviveARestart: an endpoint behind a reset still gets
// the old sale's events after a restart, while the store is the new sale's;
// once it has them, they are gone for good.
func eventsBeforeAResetSurviveARestart(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(2, false)
	h.hold("alice")
	h.hold("bob")
	h.wait("carol", 1)
	old := h.events()
	h.wantLease(shopB, "b", 0)
	h.ack(sale.Ack{URL: shopB, Holder: "b", Cursor: 2})
	h.init(5, true)
	h.hold("dave")
	all := slices.Concat(old, h.events())
	reset, newest := lastSeq(old)+1, lastSeq(all)
	if checkSeq(all) != nil || all[reset-1].Kind != sale.EventReset {
		t.Fatalf("the feed, before the reset then from it: %s", showEvents(all))
	}
	h.wantLease(shopA, "a", 0)
	h.ack(sale.Ack{URL: shopA, Holder: "a", Cursor: newest})
	h.advance(time.Minute) // the leases run out

	h.reopenOutbox(f, shopA, shopB)
	h.wantStatus(5, 4, 1, 0, 0)
	h.wantNone("alice")
	h.wantNone("carol")
	h.wantHolding("dave")
	if events := h.events(); !slices.EqualFunc(events, all[reset-1:], sameEvent) {
		t.Fatalf("the feed after a restart: %s; want it from the reset, %s", showEvents(events), showEvents(all[reset-1:]))
	}
	got, more := h.pending(2, 100)
	if !slices.EqualFunc(got, all[2:], sameEvent) {
		t.Fatalf("pending after B's cursor, before the reset, after a restart:\n got %s\nwant %s", showEvents(got), showEvents(all[2:]))
	}
	wantOpen(t, "pending after B's cursor up to the newest, after a restart", more)
	if got = h.pendingAll(2); !slices.EqualFunc(got, all[2:], sameEvent) {
		t.Fatalf("pending after B's cursor, paged by 3, after a restart:\n got %s\nwant %s", showEvents(got), showEvents(all[2:]))
	}

	// B catches up: the old sale's events are forgotten, and stay so.
	h.wantLease(shopB, "b2", 2)
	h.ack(sale.Ack{URL: shopB, Holder: "b2", Cursor: newest})
	for _, when := range []string{"once B caught up", "once B caught up, after another restart"} {
		got, _ = h.pending(0, 100)
		if len(got) > 0 && (got[0].Seq != reset || !slices.EqualFunc(got, all[reset-1:], sameEvent)) {
			t.Fatalf("pending after 0 %s: %s; want nothing before the reset #%d (nothing, or from the reset on)", when, showEvents(got), reset)
		}
		if got, _ = h.pending(newest, 10); len(got) != 0 {
			t.Fatalf("pending after the newest %s: %s", when, showEvents(got))
		}
		h.reopenOutbox(f, shopA, shopB)
	}
	h.wantStatus(5, 4, 1, 0, 0)
	_, more = h.pending(newest, 10)
	wantOpen(t, "pending after the newest, after two restarts", more)
	h.hold("erin")
	wantWoken(t, "pending after the newest, after two restarts, then a commit", more)
}

// anEndpointAddedAtARestart: an endpoint new to the store hears of what
// happens from its open on; the others keep their cursors.
func anEndpointAddedAtARestart(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA)
	h.init(1, false)
	h.hold("alice")
	h.wait("bob", 1)
	all := h.events()
	newest := lastSeq(all)
	h.wantLease(shopA, "a", 0)
	h.ack(sale.Ack{URL: shopA, Holder: "a", Cursor: 2})
	h.advance(time.Minute)

	h.reopenOutbox(f, shopA, shopB)
	eps := h.endpoints(shopA, shopB)
	if e := eps[shopA]; e.Cursor != 2 {
		t.Fatalf("after a restart that added an endpoint: %s; want its cursor kept, #2", showEndpoint(e))
	}
	if e := eps[shopB]; !sameEndpoint(e, sale.Endpoint{URL: shopB, Cursor: newest}) {
		t.Fatalf("an endpoint added at a restart: %s; want it at the newest event, #%d, no holder, no dead letter, no error", showEndpoint(e), newest)
	}
	got, more := h.pending(newest, 10)
	if len(got) != 0 {
		t.Fatalf("pending after the newest: %s", showEvents(got))
	}
	wantOpen(t, "pending after the newest, after a restart", more)
	h.wait("carol", 2)
	wantWoken(t, "pending after the newest, after a restart, then a commit", more)
	h.wantLease(shopB, "b", newest)
	if got, _ = h.pending(newest, 10); len(got) != 1 || got[0].Kind != sale.EventJoined || got[0].UserID != "carol" {
		t.Fatalf("pending for the new endpoint: %s; want carol joining", showEvents(got))
	}
	if got = h.pendingAll(2); len(got) != 2 || !sameEvent(got[0], all[2]) || got[1].UserID != "carol" {
		t.Fatalf("pending after A's cursor: %s; want bob joining, then carol", showEvents(got))
	}
}
