package webhook_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// fastRetries are retry settings for tests: a hostile receiver's thousand
// failures cost milliseconds each, not the production seconds.
func fastRetries(endpoints []string, keys [][]byte) webhook.Config {
	return webhook.Config{
		Endpoints: endpoints, Keys: keys,
		Timeout: 200 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
}

// TestHostileReceiver: a receiver that fails at random, hangs past the
// sender's timeout, hangs up and redirects. Every event still arrives, in
// order, with no gap, and one arrives twice only after a failure.
func TestHostileReceiver(t *testing.T) {
	_, keys := newKeys(t)
	for _, store := range []testkit.StoreKind{testkit.Memory, testkit.SQLite} {
		t.Run(string(store), func(t *testing.T) {
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(27, uint64(len(store))))
			faults := map[testkit.Fault]int{}
			rcv := testkit.NewReceiver(t, keys, func(int) testkit.Fault {
				mu.Lock()
				defer mu.Unlock()
				f := testkit.Accept
				switch p := rng.IntN(100); {
				case p < 20:
					f = testkit.Fail
				case p < 23:
					f = testkit.Hang
				case p < 30:
					f = testkit.Hangup
				case p < 35:
					f = testkit.Redirect
				}
				faults[f]++
				return f
			})
			s := testkit.Start(t, testkit.Options{Store: store, Webhooks: fastRetries([]string{rcv.URL}, keys)})
			crowd(t, s, 40, 150)
			want := sent(t, s.Server().Store, 0)
			rcv.WaitAccepted(t, want[len(want)-1], 2*time.Minute)
			calls := rcv.Calls()
			testkit.CheckDelivery(t, calls, want)
			for _, f := range []testkit.Fault{testkit.Fail, testkit.Hang, testkit.Hangup, testkit.Redirect} {
				if faults[f] == 0 {
					t.Errorf("fault %d never happened in %d calls: the test did not test it", f, len(calls))
				}
			}
			// The receiver records a call as it arrives; the deliverer
			// counts it once the 2xx is back: wait for that.
			waitFor(t, 5*time.Second, func() bool { return s.Server().Webhooks.Stats()[0].Delivered >= uint64(len(want)) })
			st := s.Server().Webhooks.Stats()[0]
			if st.Failed == 0 || st.Retries != st.Failed || st.Delivered != uint64(len(want)) {
				t.Errorf("stats %+v: want %d delivered and as many retries as failures", st, len(want))
			}
		})
	}
}

// TestDeadLetters: an endpoint that never answers has each event tried
// until it is MaxAge old, then dead-lettered, counted and shown to the
// admin with the last error; the sale goes on meanwhile, and once the
// endpoint answers again the events after are delivered.
func TestDeadLetters(t *testing.T) {
	_, keys := newKeys(t)
	var mu sync.Mutex
	down := true
	rcv := testkit.NewReceiver(t, keys, func(int) testkit.Fault {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return testkit.Fail
		}
		return testkit.Accept
	})
	cfg := fastRetries([]string{rcv.URL}, keys)
	cfg.MaxAge = time.Second
	s := testkit.Start(t, testkit.Options{Webhooks: cfg})
	ctx := t.Context()
	crowd(t, s, 2, 5)
	dead := uint64(len(sent(t, s.Server().Store, 0)))
	waitFor(t, 10*time.Second, func() bool { return s.Server().Webhooks.Stats()[0].DeadLetter == dead })

	resp, err := s.Server().Client.GetWebhooksWithResponse(ctx, asAdmin(s))
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("GET /webhooks: %v %s", err, resp.Body)
	}
	ep := resp.JSON200.Endpoints[0]
	if ep.Url != rcv.URL || uint64(ep.DeadLetters) != dead || ep.LastError == nil || !strings.Contains(*ep.LastError, "500") || ep.Lag != 0 {
		t.Fatalf("GET /webhooks: %+v, want %d dead letters, a 500 as the last error, no lag", ep, dead)
	}
	bare, err := s.Server().Bare.GetWebhooksWithResponse(ctx)
	if err != nil || bare.StatusCode() != 401 {
		t.Fatalf("GET /webhooks with no token: %v %d, want 401", err, bare.StatusCode())
	}

	mu.Lock()
	down = false
	mu.Unlock()
	if _, err := sale.Reserve(ctx, s.Server().Store, "late-shopper"); err != nil {
		t.Fatal(err)
	}
	newest, _ := s.Server().Store.Newest(ctx)
	rcv.WaitAccepted(t, newest, 10*time.Second)
	waitFor(t, 5*time.Second, func() bool {
		resp, err := s.Server().Client.GetWebhooksWithResponse(ctx, asAdmin(s))
		return err == nil && resp.JSON200 != nil && resp.JSON200.Endpoints[0].LastError == nil && resp.JSON200.Endpoints[0].Lag == 0
	})
}

func asAdmin(s *testkit.Stack) generated.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		return nil
	}
}

func waitFor(t testing.TB, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
