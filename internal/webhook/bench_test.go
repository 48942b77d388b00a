package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// BenchmarkDelivery is the deliverer's throughput to a fast local receiver
// (the bound: at least 2,000 events/s), on the memory store and on
// SQLite. b.N is the number of shoppers: the sale (1,000 units) and b.N
// reserves are committed first, straight on the store and not timed, so
// that about b.N+1 events wait in the outbox; then the deliverer starts,
// and the time runs from its start to the receiver's acceptance of the
// last event. events/s is the events sent over that time (ns/op is that
// time per shopper, about one event each). The receiver answers 204 at once
// and counts; it shares the process, and -benchmem's allocations are
// its too. On SQLite the deliverer records its cursor (a commit and its
// fsync) every 256 events, as it does in the server.
//
//	go test ./internal/webhook -run '^$' -bench Delivery -benchmem -benchtime 20000x
func BenchmarkDelivery(b *testing.B) {
	for _, store := range []testkit.StoreKind{testkit.Memory, testkit.SQLite} {
		b.Run(string(store), func(b *testing.B) { benchmarkDelivery(b, store) })
	}
}

func benchmarkDelivery(b *testing.B, store testkit.StoreKind) {
	ctx := b.Context()
	_, keys := newKeys(b)
	rcv := newCountingReceiver(b)
	opts := testkit.Options{Store: store}
	// The store keeps a cursor for the endpoint from its opening: every
	// event committed after is for it.
	st := testkit.OpenStore(b, &opts, sale.Config{Outbox: sale.OutboxConfig{Endpoints: []string{rcv.url}}})
	commitShoppers(b, st, 1000, b.N)
	want := sent(b, st, 0)
	rcv.expect(want[len(want)-1])
	outbox, ok := st.(interface {
		sale.Outbox
		sale.Keyring
	})
	if !ok {
		b.Fatalf("the %s store keeps no webhook cursors", store)
	}
	epoch, err := webhook.EpochOf(ctx, outbox)
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	start := time.Now()
	d, err := webhook.Start(webhook.Config{
		Outbox: outbox, Endpoints: []string{rcv.url}, Keys: keys,
		Encode: httpapi.EncodeWebhook, Epoch: epoch, Holder: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	select {
	case <-rcv.done:
	case <-time.After(5*time.Minute + time.Duration(len(want))*time.Millisecond):
		b.Fatalf("%d of %d events accepted, the last not", rcv.count.Load(), len(want))
	}
	elapsed := time.Since(start)
	b.StopTimer()

	if got := rcv.count.Load(); got != int64(len(want)) {
		b.Fatalf("the receiver accepted %d calls for %d events: with a receiver that never fails, each is sent once", got, len(want))
	}
	if bad := rcv.outOfOrder.Load(); bad > 0 {
		b.Fatalf("%d calls came out of feed order", bad)
	}
	// The deliverer counts the last event once it has read the answer.
	waitFor(b, 10*time.Second, func() bool { return d.Stats()[0].Delivered == uint64(len(want)) })
	if st := d.Stats()[0]; st.Failed != 0 {
		b.Fatalf("stats %+v: want none failed", st)
	}
	b.ReportMetric(float64(len(want))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(len(want)), "events")
}

// commitShoppers commits a sale of units and shoppers reserves, from 64
// goroutines so that a durable store commits them in groups.
func commitShoppers(b *testing.B, st sale.Store, units, shoppers int) {
	b.Helper()
	ctx := b.Context()
	if _, err := sale.Initialize(ctx, st, int64(units), false); err != nil {
		b.Fatal(err)
	}
	const workers = 64
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(shoppers) {
					return
				}
				if _, err := sale.Reserve(ctx, st, fmt.Sprintf("shopper-%07d", i)); err != nil {
					errs <- fmt.Errorf("reserve shopper %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// countingReceiver is a shop's endpoint at its fastest: it reads each
// call, answers 204 at once and counts, keeping nothing (testkit.Receiver
// keeps every body and checks every signature, which the deliverer would
// then wait for).
type countingReceiver struct {
	url        string
	count      atomic.Int64
	outOfOrder atomic.Int64
	lastSeq    atomic.Uint64 // of the last call
	last       atomic.Uint64 // the Seq whose acceptance ends the run
	done       chan struct{}
	doneOnce   sync.Once
}

func newCountingReceiver(b *testing.B) *countingReceiver {
	r := &countingReceiver{done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		seq, _ := strconv.ParseUint(id[strings.LastIndexByte(id, '_')+1:], 10, 64)
		w.WriteHeader(http.StatusNoContent)
		r.count.Add(1)
		if prev := r.lastSeq.Swap(seq); seq <= prev {
			r.outOfOrder.Add(1)
		}
		if last := r.last.Load(); last != 0 && seq == last {
			r.doneOnce.Do(func() { close(r.done) })
		}
	}))
	b.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks"
	return r
}

// expect sets the Seq of the last event to be sent, before delivery starts.
func (r *countingReceiver) expect(seq uint64) { r.last.Store(seq) }
