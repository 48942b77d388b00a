package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// The outbox (sale.Outbox): each webhook endpoint's cursor in the committed
// feed, with its lease, its dead letters and its last error, kept by the
// store; and the events an endpoint has yet to acknowledge, kept across
// resets until every endpoint has.

// RunOutbox is the suite's part for stores that keep webhook cursors. It is
// separate from Run because the store engine's own tests run Run on
// journals that keep none. Every store it makes but one is given two
// endpoints, shopA and shopB, and must be a sale.Outbox.
func RunOutbox(t *testing.T, newStore Factory) {
	stop := watchdog(Timeout)
	defer stop()
	for _, tc := range outboxTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore) })
	}
}

const (
	shopA = "http://shop-a.example/hooks"
	shopB = "http://shop-b.example/hooks"
	// leaseTTL is how long the tests' leases last.
	leaseTTL = 30 * time.Second
)

var outboxTests = []test{
	{"NewEndpoints", newEndpoints},
	{"PendingHasEveryEvent", pendingHasEveryEvent},
	{"PendingKeepsEventsBeforeAReset", pendingKeepsEventsBeforeAReset},
	{"Lease", leaseAnEndpoint},
	{"OneHolderAtATime", oneHolderAtATime},
	{"Acknowledge", acknowledge},
	{"UnknownEndpoint", unknownEndpoint},
	{"NoEndpoints", noEndpoints},
}

// newEndpoints: a new store keeps a cursor for each endpoint, at the newest
// event (none yet), which a commit does not move.
func newEndpoints(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	for url, e := range h.endpoints(shopA, shopB) {
		if !sameEndpoint(e, sale.Endpoint{URL: url}) {
			t.Fatalf("a new store's endpoint: %s; want cursor 0, no holder, no dead letter, no error", showEndpoint(e))
		}
	}
	events, more := h.pending(0, 10)
	if len(events) != 0 {
		t.Fatalf("pending events of an empty store: %s", showEvents(events))
	}
	wantOpen(t, "pending events of an empty store", more)
	h.init(1, false)
	wantWoken(t, "pending events of an empty store, then an initialization", more)
	if events, _ := h.pending(0, 10); len(events) != 1 || events[0].Seq != 1 || events[0].Kind != sale.EventInitialized {
		t.Fatalf("pending events after the initialization: %s", showEvents(events))
	}
	for url, e := range h.endpoints(shopA, shopB) {
		if !sameEndpoint(e, sale.Endpoint{URL: url}) {
			t.Fatalf("after a commit, nothing acknowledged: %s; want it as it was", showEndpoint(e))
		}
	}
}

// pendingHasEveryEvent: Pending pages through every committed event, and
// waits at the newest as the feed does.
func pendingHasEveryEvent(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(2, false)
	a := h.hold("alice")
	h.hold("bob")
	for i := range 4 {
		h.wait(userName(i), int64(i+1))
	}
	h.cancel(a.ID) // user-0000 promoted
	all := h.events()
	if len(all) != 9 || all[0].Seq != 1 || checkSeq(all) != nil {
		t.Fatalf("the feed: %s; want 9 events from #1, without a gap", showEvents(all))
	}

	got, more := h.pending(0, 100)
	if !slices.EqualFunc(got, all, sameEvent) {
		t.Fatalf("pending after 0:\n got %s\nwant %s", showEvents(got), showEvents(all))
	}
	wantOpen(t, "pending after 0, up to the newest", more)
	got, more = h.pending(0, 3)
	if !slices.EqualFunc(got, all[:3], sameEvent) {
		t.Fatalf("pending after 0, 3 of them: %s; want %s", showEvents(got), showEvents(all[:3]))
	}
	wantClosed(t, "pending after 0, 3 of them", more)
	if got, _ = h.pending(2, 3); !slices.EqualFunc(got, all[2:5], sameEvent) {
		t.Fatalf("pending after 2, 3 of them: %s; want %s", showEvents(got), showEvents(all[2:5]))
	}
	if got = h.pendingAll(0); !slices.EqualFunc(got, all, sameEvent) {
		t.Fatalf("pending after 0, paged by 3:\n got %s\nwant %s", showEvents(got), showEvents(all))
	}
	_, _, err := h.outbox().Pending(h.ctx, 0, 0)
	h.wantErr("pending with a limit of 0", err, sale.ErrInvalid)

	newest := lastSeq(all)
	got, more = h.pending(newest, 10)
	if len(got) != 0 {
		t.Fatalf("pending after the newest, #%d: %s; want none", newest, showEvents(got))
	}
	wantOpen(t, "pending after the newest", more)
	h.wait(userName(4), 4)
	wantWoken(t, "pending after the newest, then a commit", more)
	got, more = h.pending(newest, 10)
	if len(got) != 1 || got[0].Seq != newest+1 || got[0].Kind != sale.EventJoined || got[0].UserID != userName(4) {
		t.Fatalf("pending after #%d, after a commit: %s; want %s joining", newest, showEvents(got), userName(4))
	}
	wantOpen(t, "pending up to the newest, again", more)
}

// pendingKeepsEventsBeforeAReset: a stream starts at the last reset, but
// an endpoint is owed every event after its cursor: those before a reset
// are kept until every endpoint has acknowledged them, then forgotten.
func pendingKeepsEventsBeforeAReset(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(2, false)
	h.hold("alice")
	h.hold("bob")
	h.wait("carol", 1)
	before := h.events()
	h.init(5, true)
	h.hold("dave")
	h.hold("erin")
	after := h.events()
	if len(after) == 0 || after[0].Kind != sale.EventReset || after[0].Seq != lastSeq(before)+1 {
		t.Fatalf("the feed after a reset: %s; want it to start at the reset, #%d", showEvents(after), lastSeq(before)+1)
	}
	reset := after[0].Seq
	all := slices.Concat(before, after)
	newest := lastSeq(all)
	if checkSeq(all) != nil || all[0].Seq != 1 {
		t.Fatalf("the feed, before the reset then from it: %s", showEvents(all))
	}

	// Nobody acknowledged anything: nothing is skipped.
	got, more := h.pending(0, 100)
	if !slices.EqualFunc(got, all, sameEvent) {
		t.Fatalf("pending after 0, past a reset:\n got %s\nwant %s", showEvents(got), showEvents(all))
	}
	wantOpen(t, "pending after 0, past a reset, up to the newest", more)
	if got = h.pendingAll(0); !slices.EqualFunc(got, all, sameEvent) {
		t.Fatalf("pending after 0, past a reset, paged by 3:\n got %s\nwant %s", showEvents(got), showEvents(all))
	}
	if got, _ = h.pending(reset-2, 3); !slices.EqualFunc(got, all[reset-2:reset+1], sameEvent) {
		t.Fatalf("pending after #%d, across the reset: %s; want %s", reset-2, showEvents(got), showEvents(all[reset-2:reset+1]))
	}

	// A has everything; B, at 0, still gets every event.
	h.wantLease(shopA, "a", 0)
	h.ack(sale.Ack{URL: shopA, Holder: "a", Cursor: newest})
	if got = h.pendingAll(0); !slices.EqualFunc(got, all, sameEvent) {
		t.Fatalf("pending after 0, once A acknowledged everything and B nothing:\n got %s\nwant %s", showEvents(got), showEvents(all))
	}
	// B acknowledges two: what is after them, before the reset, is kept.
	h.wantLease(shopB, "b", 0)
	h.ack(sale.Ack{URL: shopB, Holder: "b", Cursor: 2})
	got, more = h.pending(2, 100)
	if !slices.EqualFunc(got, all[2:], sameEvent) {
		t.Fatalf("pending after B's cursor 2, A's at the newest:\n got %s\nwant %s", showEvents(got), showEvents(all[2:]))
	}
	wantOpen(t, "pending after B's cursor, up to the newest", more)

	// Both have everything: the events before the reset are forgotten.
	h.ack(sale.Ack{URL: shopB, Holder: "b", Cursor: newest})
	got, _ = h.pending(0, 100)
	if len(got) > 0 && (got[0].Seq != reset || got[0].Kind != sale.EventReset || !slices.EqualFunc(got, all[reset-1:], sameEvent)) {
		t.Fatalf("pending after 0 once every endpoint acknowledged #%d: %s; want nothing before the reset #%d (nothing, or from the reset on)",
			newest, showEvents(got), reset)
	}
	if events, _, err := h.s.Events(h.ctx, 0, 100); err != nil || !slices.EqualFunc(events, after, sameEvent) {
		t.Fatalf("the feed after the acknowledgements: %s, %v; want %s", showEvents(events), err, showEvents(after))
	}
	got, more = h.pending(newest, 10)
	if len(got) != 0 {
		t.Fatalf("pending after the newest: %s", showEvents(got))
	}
	wantOpen(t, "pending after the newest, everything acknowledged", more)
	h.hold("frank")
	wantWoken(t, "pending after the newest, everything acknowledged, then a commit", more)
	if got, _ = h.pending(newest, 10); len(got) != 1 || got[0].Kind != sale.EventGranted || got[0].UserID != "frank" {
		t.Fatalf("pending after #%d: %s; want frank's hold", newest, showEvents(got))
	}
}

// leaseAnEndpoint: one holder at a time, until its lease runs out by the
// store's clock; the holder that lost it can no longer acknowledge.
func leaseAnEndpoint(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(1, false)
	h.hold("alice")
	h.wait("bob", 1)
	h.wait("carol", 2)

	l := h.wantLease(shopA, "a", 0)
	if e := h.endpoints(shopA, shopB)[shopA]; e.Holder != "a" || !e.LeaseUntil.Equal(l.Until) || e.Cursor != 0 {
		t.Fatalf("endpoint leased by a until %v: %s", l.Until, showEndpoint(e))
	}
	h.advance(10 * time.Second)
	h.wantRefused(shopA, "b", "a", l.Until)
	h.wantLease(shopB, "b", 0) // another endpoint, another lease

	// a renews, and has made progress since.
	h.ack(sale.Ack{URL: shopA, Holder: "a", Cursor: 2})
	h.advance(10 * time.Second)
	l = h.wantLease(shopA, "a", 2)
	h.at(l.Until.Add(-time.Microsecond))
	h.wantRefused(shopA, "b", "a", l.Until)

	// Its lease ran out: b takes the endpoint over, where a left it.
	h.at(l.Until.Add(time.Microsecond))
	h.wantLease(shopA, "b", 2)
	before := h.endpoints(shopA, shopB)
	err := h.outbox().Acknowledge(h.ctx, sale.Ack{URL: shopA, Holder: "a", Cursor: 3, Dead: 1,
		Failure: errors.New("503 Service Unavailable"), FailedAt: h.now()})
	h.wantErr("a's acknowledgement after b took the endpoint over", err, sale.ErrLeaseLost)
	if d := diffEndpoints(before, h.endpoints(shopA, shopB)); d != "" {
		t.Fatalf("a refused acknowledgement changed %s", d)
	}
	h.wantRefused(shopA, "a", "b", sale.Instant(h.now().Add(leaseTTL)))
	h.ack(sale.Ack{URL: shopA, Holder: "b", Cursor: 3})
	if e := h.endpoints(shopA, shopB)[shopA]; e.Cursor != 3 || e.Holder != "b" {
		t.Fatalf("b acknowledged #3: %s", showEndpoint(e))
	}
}

// oneHolderAtATime: servers racing for an endpoint; one gets it, and every
// other is told which.
func oneHolderAtATime(t *testing.T, f Factory) {
	const servers = 8
	h := startOutbox(t, f, shopA, shopB)
	o := h.outbox()
	leases := make([]sale.Lease, servers)
	errs := make([]error, servers)
	together(servers, func(i int) {
		leases[i], errs[i] = o.Lease(h.ctx, shopA, fmt.Sprintf("server-%d", i), leaseTTL)
	})
	holder := ""
	for i, l := range leases {
		if errs[i] != nil {
			t.Fatalf("server-%d's lease: %v", i, errs[i])
		}
		if l.Held {
			if holder != "" {
				t.Fatalf("both %s and server-%d hold the endpoint: %+v", holder, i, leases)
			}
			holder = l.Holder
		}
	}
	if holder == "" {
		t.Fatalf("%d servers asked, none holds the endpoint: %+v", servers, leases)
	}
	for i, l := range leases {
		if l.Holder != holder {
			t.Fatalf("server-%d was told %+v; %s holds the endpoint", i, l, holder)
		}
	}
	if e := h.endpoints(shopA, shopB)[shopA]; e.Holder != holder {
		t.Fatalf("the endpoint, leased by %s: %s", holder, showEndpoint(e))
	}
}

// acknowledge: the cursor never moves back, dead letters add up, and the
// last error is kept until a delivery after it succeeds.
func acknowledge(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(1, false)
	h.hold("alice")
	for i := range 6 {
		h.wait(userName(i), int64(i+1))
	}
	l := h.wantLease(shopA, "a", 0)
	want := sale.Endpoint{URL: shopA, Holder: "a", LeaseUntil: l.Until}
	step := func(what string, a sale.Ack) {
		t.Helper()
		a.URL, a.Holder = shopA, "a"
		h.ack(a)
		if got := h.endpoints(shopA, shopB); !sameEndpoint(got[shopA], want) || !sameEndpoint(got[shopB], sale.Endpoint{URL: shopB}) {
			t.Fatalf("%s: %s, and %s; want %s, and B untouched", what, showEndpoint(got[shopA]), showEndpoint(got[shopB]), showEndpoint(want))
		}
	}

	want.Cursor = 3
	step("acknowledged #3", sale.Ack{Cursor: 3})
	step("acknowledged #2 after #3", sale.Ack{Cursor: 2})
	want.DeadLetters = 2
	step("2 dead letters, no advance", sale.Ack{Cursor: 3, Dead: 2})

	// A failure is kept, to the microsecond, as of when it happened.
	failedAt := time.Date(2030, time.March, 4, 13, 59, 58, 123456789, time.FixedZone("shop", 2*60*60))
	failure := fmt.Errorf("POST %s: %w", shopA, errors.New("503 Service Unavailable"))
	want.Cursor, want.DeadLetters = 4, 3
	want.LastError, want.LastErrorAt = sale.ErrorText(failure), sale.Instant(failedAt)
	step("#4 dead-lettered, failing", sale.Ack{Cursor: 4, Dead: 1, Failure: failure, FailedAt: failedAt})
	step("no failure, no advance", sale.Ack{Cursor: 4})
	step("no failure, an older cursor", sale.Ack{Cursor: 2})

	// A newer failure replaces it, advance or not.
	failedAt = failedAt.Add(time.Second)
	failure = errors.New("connection refused")
	want.LastError, want.LastErrorAt = sale.ErrorText(failure), sale.Instant(failedAt)
	step("another failure, no advance", sale.Ack{Cursor: 4, Failure: failure, FailedAt: failedAt})
	failedAt = failedAt.Add(time.Second)
	failure = errors.New("context deadline exceeded")
	want.Cursor, want.DeadLetters = 5, 4
	want.LastError, want.LastErrorAt = sale.ErrorText(failure), sale.Instant(failedAt)
	step("#5 dead-lettered, failing", sale.Ack{Cursor: 5, Dead: 1, Failure: failure, FailedAt: failedAt})

	// A delivery that succeeds clears it.
	want.Cursor, want.LastError, want.LastErrorAt = 6, "", time.Time{}
	step("#6 delivered", sale.Ack{Cursor: 6})

	// A long failure is kept as sale.ErrorText bounds it.
	long := errors.New("502 Bad Gateway: " + strings.Repeat("<html>", 200))
	want.Cursor, want.LastError, want.LastErrorAt = 7, sale.ErrorText(long), sale.Instant(h.now())
	step("#7 acknowledged, a long failure after it", sale.Ack{Cursor: 7, Failure: long, FailedAt: h.now()})
}

// unknownEndpoint: an endpoint the store was not given is refused, and
// does not become one.
func unknownEndpoint(t *testing.T, f Factory) {
	h := startOutbox(t, f, shopA, shopB)
	h.init(1, false)
	h.hold("alice")
	const stranger = "http://stranger.example/hooks"
	before := h.endpoints(shopA, shopB)
	o := h.outbox()
	if l, err := o.Lease(h.ctx, stranger, "a", leaseTTL); err == nil {
		t.Fatalf("an unknown endpoint was leased: %+v", l)
	}
	if err := o.Acknowledge(h.ctx, sale.Ack{URL: stranger, Holder: "a", Cursor: 1}); err == nil {
		t.Fatal("an unknown endpoint's acknowledgement was taken")
	}
	_, err := o.Lease(h.ctx, shopA, "", leaseTTL)
	h.wantErr("a lease without a holder", err, sale.ErrInvalid)
	_, err = o.Lease(h.ctx, shopA, "a", 0)
	h.wantErr("a lease for no time", err, sale.ErrInvalid)
	if d := diffEndpoints(before, h.endpoints(shopA, shopB)); d != "" {
		t.Fatalf("refused calls changed %s", d)
	}
	h.wantLease(shopA, "a", 0) // and the store goes on
}

// noEndpoints: a store given no endpoint keeps no cursor, and says so.
func noEndpoints(t *testing.T, f Factory) {
	h := startWith(t, f, sale.Config{})
	o := h.outbox()
	h.init(1, false)
	h.hold("alice")
	_, _, err := o.Pending(h.ctx, 0, 10)
	h.wantErr("pending events, no endpoints", err, sale.ErrNoOutbox)
	_, err = o.Lease(h.ctx, shopA, "a", leaseTTL)
	h.wantErr("a lease, no endpoints", err, sale.ErrNoOutbox)
	err = o.Acknowledge(h.ctx, sale.Ack{URL: shopA, Holder: "a", Cursor: 1})
	h.wantErr("an acknowledgement, no endpoints", err, sale.ErrNoOutbox)
	_, err = o.Endpoints(h.ctx)
	h.wantErr("the endpoints, no endpoints", err, sale.ErrNoOutbox)
	h.wait("bob", 1) // the sale goes on
}
