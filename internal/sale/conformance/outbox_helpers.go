package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// What the outbox groups (outbox.go, outbox_durable.go) share.

// startOutbox starts a store that keeps cursors for endpoints.
func startOutbox(t *testing.T, f Factory, endpoints ...string) *harness {
	t.Helper()
	h := startWith(t, f, sale.Config{Outbox: sale.OutboxConfig{Endpoints: endpoints}})
	h.outbox()
	return h
}

// outbox is the store as a sale.Outbox; the test fails if it is not one.
func (h *harness) outbox() sale.Outbox {
	h.t.Helper()
	o, ok := h.s.(sale.Outbox)
	if !ok {
		h.t.Fatalf("the store, a %T, is not a sale.Outbox", h.s)
	}
	return o
}

// pending calls Pending, expecting success, and checks the page: at most
// limit events, after `after`, in order without a gap, and a channel.
func (h *harness) pending(after uint64, limit int) ([]sale.Event, <-chan struct{}) {
	h.t.Helper()
	events, more, err := h.outbox().Pending(h.ctx, after, limit)
	switch {
	case err != nil:
		h.t.Fatalf("pending after %d, up to %d: %v", after, limit, err)
	case len(events) > limit:
		h.t.Fatalf("pending after %d, up to %d: %d events: %s", after, limit, len(events), showEvents(events))
	case len(events) > 0 && events[0].Seq <= after:
		h.t.Fatalf("pending after %d: %s", after, showEvents(events))
	case more == nil:
		h.t.Fatalf("pending after %d: no channel to wait on", after)
	}
	if err := checkSeq(events); err != nil {
		h.t.Fatalf("pending after %d: %v", after, err)
	}
	return events, more
}

// pendingAll reads every event Pending has after `after`, three at a time.
func (h *harness) pendingAll(after uint64) []sale.Event {
	h.t.Helper()
	var all []sale.Event
	for {
		page, _ := h.pending(after, 3)
		if len(page) == 0 {
			return all
		}
		if len(all) > 0 && page[0].Seq != lastSeq(all)+1 {
			h.t.Fatalf("pending, paged by 3: %s, then after #%d %s", showEvents(all), after, showEvents(page))
		}
		all = append(all, page...)
		after = lastSeq(page)
	}
}

// endpoints reads the endpoints, expecting exactly urls, each once.
func (h *harness) endpoints(urls ...string) map[string]sale.Endpoint {
	h.t.Helper()
	list, err := h.outbox().Endpoints(h.ctx)
	if err != nil {
		h.t.Fatalf("endpoints: %v", err)
	}
	byURL := make(map[string]sale.Endpoint, len(list))
	for _, e := range list {
		byURL[e.URL] = e
	}
	ok := len(list) == len(urls) && len(byURL) == len(urls)
	for _, u := range urls {
		_, found := byURL[u]
		ok = ok && found
	}
	if !ok {
		var got []string
		for _, e := range list {
			got = append(got, e.URL)
		}
		h.t.Fatalf("endpoints: %q; want %q", got, urls)
	}
	return byURL
}

// wantLease leases url for holder, expecting to get it for leaseTTL from
// now, resuming after cursor.
func (h *harness) wantLease(url, holder string, cursor uint64) sale.Lease {
	h.t.Helper()
	l, err := h.outbox().Lease(h.ctx, url, holder, leaseTTL)
	if err != nil {
		h.t.Fatalf("lease %s for %s: %v", url, holder, err)
	}
	until := sale.Instant(h.now().Add(leaseTTL))
	if !l.Held || l.Holder != holder || l.Cursor != cursor || !l.Until.Equal(until) {
		h.t.Fatalf("lease %s for %s at %v: %+v; want it held until %v, from #%d", url, holder, h.now(), l, until, cursor)
	}
	return l
}

// wantRefused leases url for holder, expecting to be told that by holds it
// until `until`.
func (h *harness) wantRefused(url, holder, by string, until time.Time) {
	h.t.Helper()
	l, err := h.outbox().Lease(h.ctx, url, holder, leaseTTL)
	if err != nil {
		h.t.Fatalf("lease %s for %s: %v", url, holder, err)
	}
	if l.Held || l.Holder != by || !l.Until.Equal(until) {
		h.t.Fatalf("lease %s for %s at %v: %+v; want it refused, %s holding it until %v", url, holder, h.now(), l, by, until)
	}
}

func (h *harness) ack(a sale.Ack) {
	h.t.Helper()
	if err := h.outbox().Acknowledge(h.ctx, a); err != nil {
		h.t.Fatalf("acknowledge %+v: %v", a, err)
	}
}

// sameEndpoint compares endpoints with time.Equal, since a backend may give
// back times in another location.
func sameEndpoint(a, b sale.Endpoint) bool {
	return a.URL == b.URL && a.Cursor == b.Cursor && a.Holder == b.Holder && a.LeaseUntil.Equal(b.LeaseUntil) &&
		a.DeadLetters == b.DeadLetters && a.LastError == b.LastError && a.LastErrorAt.Equal(b.LastErrorAt)
}

// diffEndpoints reports the first endpoint that differs, or "".
func diffEndpoints(before, after map[string]sale.Endpoint) string {
	for url, e := range before {
		if !sameEndpoint(e, after[url]) {
			return fmt.Sprintf("%s into %s", showEndpoint(e), showEndpoint(after[url]))
		}
	}
	return ""
}

func showEndpoint(e sale.Endpoint) string {
	s := fmt.Sprintf("{%s at #%d", e.URL, e.Cursor)
	if e.Holder != "" || !e.LeaseUntil.IsZero() {
		s += fmt.Sprintf(", leased by %q until %v", e.Holder, e.LeaseUntil)
	}
	if e.DeadLetters != 0 {
		s += fmt.Sprintf(", %d dead", e.DeadLetters)
	}
	if e.LastError != "" || !e.LastErrorAt.IsZero() {
		s += fmt.Sprintf(", failed %q at %v", e.LastError, e.LastErrorAt)
	}
	return s + "}"
}

// wantOpen checks that nothing has closed c yet.
func wantOpen(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
		t.Fatalf("%s: the wake channel is closed before anything newer was committed", what)
	default:
	}
}

// wantClosed checks that c is closed already.
func wantClosed(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	default:
		t.Fatalf("%s: a page short of the newest event must come with a closed wake channel", what)
	}
}

// wantWoken waits for c to close.
func wantWoken(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the commit did not wake the consumer", what)
	}
}
