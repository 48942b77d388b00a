package webhook_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// TestOneHolderAtATime: two deliverers on one store, as two servers would
// be. Only the lease's holder sends; when it shuts down it records its
// progress and gives the lease up, and the other takes over at once (well
// before the lease would have run out), from the recorded cursor, with
// nothing lost and nothing sent twice. (A holder that dies without a word
// is replaced once its lease runs out: cmd/flashsale's kill tests.)
func TestOneHolderAtATime(t *testing.T) {
	_, keys := newKeys(t)
	rcv := testkit.NewReceiver(t, keys, nil)
	cfg := fastRetries([]string{rcv.URL}, keys)
	// The second looks for a free lease every third of this: it finds
	// the one given up within a second, while waiting for it to run out
	// would take three at least.
	cfg.LeaseTTL = 3 * time.Second
	cfg.Holder = "first"
	s := testkit.Start(t, testkit.Options{Webhooks: cfg})
	first := s.Server().Webhooks

	outbox := s.Server().Store.(interface {
		sale.Outbox
		sale.Keyring
	})
	epoch, err := webhook.EpochOf(t.Context(), outbox)
	if err != nil {
		t.Fatal(err)
	}
	second := cfg
	second.Holder, second.Outbox, second.Encode, second.Epoch = "second", outbox, httpapi.EncodeWebhook, epoch
	other, err := webhook.Start(second)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	crowd(t, s, 10, 30)
	before := sent(t, s.Server().Store, 0)
	rcv.WaitAccepted(t, before[len(before)-1], 10*time.Second)
	if !first.Stats()[0].Leading || other.Stats()[0].Leading || other.Stats()[0].Delivered != 0 {
		t.Fatalf("first %+v, second %+v: want the first alone delivering", first.Stats()[0], other.Stats()[0])
	}

	first.Close()
	stopped := time.Now()
	for i := range 20 {
		if _, err := sale.Reserve(t.Context(), s.Server().Store, fmt.Sprintf("late-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := sent(t, s.Server().Store, 0)
	rcv.WaitAccepted(t, want[len(want)-1], 10*time.Second)
	if took := time.Since(stopped); took >= cfg.LeaseTTL {
		t.Fatalf("the second took %v to deliver: the first did not give the lease up", took)
	}
	calls := rcv.Calls()
	testkit.CheckDelivery(t, calls, want)
	if len(calls) != len(want) {
		t.Fatalf("%d calls for %d events: a shutdown records its progress, so nothing is sent twice", len(calls), len(want))
	}
	if st := other.Stats()[0]; !st.Leading || st.Delivered == 0 {
		t.Fatalf("second %+v: want it delivering once the first stopped", st)
	}
	endpoints, err := outbox.Endpoints(t.Context())
	if err != nil || endpoints[0].Holder != "second" {
		t.Fatalf("endpoints %+v %v: want the second holding", endpoints, err)
	}
}
