package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// What the webhook tests on the real server share (webhook_crash_test.go,
// webhook_failover_test.go): a secret file, a receiver that is a little
// slow, a crowd of new shoppers, and the reading of what was delivered.

// hookSecretFile writes a fresh Standard Webhooks secret to a file of t's,
// for --webhook-secret-file, and returns its path and the key a receiver
// checks signatures with.
func hookSecretFile(t *testing.T) (string, [][]byte) {
	t.Helper()
	secret, keys := testkit.WebhookSecret(t)
	path := filepath.Join(t.TempDir(), "webhook-secret")
	writeFile(t, path, []byte(secret+"\n"))
	return path, keys
}

// hookReceiver is a shop's endpoint that takes a delay over each call
// (setDelay): the testkit.Receiver records the call (and accepts it) at
// once, and the answer leaves the delay later. Delivery is then slow
// enough to be killed mid-way, and a kill most likely falls between a call
// the shop accepted and its answer reaching the server: the case that
// makes a duplicate.
type hookReceiver struct {
	*testkit.Receiver
	url   string       // what --webhook-url names
	delay atomic.Int64 // a time.Duration
}

func newHookReceiver(t *testing.T, keys [][]byte, delay time.Duration) *hookReceiver {
	t.Helper()
	r := &hookReceiver{Receiver: testkit.NewReceiver(t, keys, nil)}
	r.setDelay(delay)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req)
		if d := time.Duration(r.delay.Load()); d > 0 {
			time.Sleep(d)
		}
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks"
	return r
}

// setDelay sets how long each call takes from now on.
func (r *hookReceiver) setDelay(d time.Duration) { r.delay.Store(int64(d)) }

// acceptedSeqs is how many distinct events the receiver accepted so far.
func (r *hookReceiver) acceptedSeqs() int {
	seen := map[uint64]bool{}
	for _, c := range r.Accepted() {
		seen[c.Seq] = true
	}
	return len(seen)
}

// waitAcceptedSeqs waits until the receiver accepted at least n distinct
// events, failing t after limit.
func (r *hookReceiver) waitAcceptedSeqs(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for r.acceptedSeqs() < n {
		if time.Now().After(deadline) {
			t.Fatalf("webhook receiver: %d events accepted within %v, want %d", r.acceptedSeqs(), limit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hookUsers names n shoppers no server has seen: prefix-00000, …
func hookUsers(prefix string, n int) []string {
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return users
}

// reserveCrowd has every user reserve once, with no token (a first
// reserve needs none), over 8 pipelined connections spread over urls:
// each answer must be a hold (201) or a place in line (202). Each is one
// event the shop hears of.
func reserveCrowd(t *testing.T, urls []string, users []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		wrong []string
	)
	pipelined(t, urls, len(users), 8, func(w io.Writer, i int) {
		body := `{"user_id":"` + users[i] + `"}`
		fmt.Fprintf(w, "POST /reserve HTTP/1.1\r\nHost: flashsale\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}, func(i, code int, body []byte) {
		if code == http.StatusCreated || code == http.StatusAccepted {
			return
		}
		mu.Lock()
		wrong = append(wrong, fmt.Sprintf("%s: %d %s", users[i], code, body))
		mu.Unlock()
	})
	if len(wrong) > 0 {
		t.Fatalf("%d of %d reserves were neither a hold nor a place in line; the first: %s", len(wrong), len(users), wrong[0])
	}
}

// initializeSale posts an initialize of units as the admin.
func initializeSale(t *testing.T, url, admin string, units int) {
	t.Helper()
	a, err := call(adminClient(admin, 30*time.Second), http.MethodPost, url+"/initialize", fmt.Sprintf(`{"total_inventory":%d}`, units))
	if err != nil || a.code != http.StatusOK {
		t.Fatalf("initialize: %v %d %v", err, a.code, a.body)
	}
}

// hookEvents returns the Seqs of every event in feed that is sent to the
// shop, in feed order: what the receiver must have accepted.
func hookEvents(t *testing.T, feed sale.Feed) []uint64 { return testkit.SentEvents(t, feed) }

// withKills returns calls with a failed call inserted before each index
// in at (ascending): where the delivering server was killed. A kill is a
// failure the receiver does not see: the call it accepted last may never
// have been answered to the server, and what the server had not recorded
// is sent again, which testkit.CheckDelivery allows only after a failure.
// The inserted call repeats the one before it, failed.
func withKills(calls []testkit.Call, at ...int) []testkit.Call {
	out := make([]testkit.Call, 0, len(calls)+len(at))
	next := 0
	for _, k := range at {
		out = append(out, calls[next:k]...)
		if k > 0 {
			kill := calls[k-1]
			kill.Fault = testkit.Fail
			out = append(out, kill)
		}
		next = k
	}
	return append(out, calls[next:]...)
}

// duplicates counts the calls accepting an event accepted before, and the
// lowest and highest such event.
func duplicates(calls []testkit.Call) (n int, lowest, highest uint64) {
	accepted := map[uint64]bool{}
	for _, c := range calls {
		if c.Fault != testkit.Accept {
			continue
		}
		if accepted[c.Seq] {
			n++
			if lowest == 0 || c.Seq < lowest {
				lowest = c.Seq
			}
			highest = max(highest, c.Seq)
		}
		accepted[c.Seq] = true
	}
	return n, lowest, highest
}

// maxAccepted is the highest event the calls accepted.
func maxAccepted(calls []testkit.Call) uint64 {
	var m uint64
	for _, c := range calls {
		if c.Fault == testkit.Accept {
			m = max(m, c.Seq)
		}
	}
	return m
}

// deliveringFrom returns the cursor of each "webhook: delivering" line of
// p's log so far: the lease's, from which it resumed.
func deliveringFrom(t *testing.T, p *testkit.Process) []uint64 {
	t.Helper()
	var out []uint64
	for _, l := range p.Logged("webhook: delivering") {
		from, ok := l["from"].(float64)
		if !ok {
			t.Fatalf("a \"webhook: delivering\" line without its cursor: %v", l)
		}
		out = append(out, uint64(from))
	}
	return out
}

// waitDelivering waits until p has logged "webhook: delivering" n times,
// failing t after limit; it returns how long that took.
func waitDelivering(t *testing.T, p *testkit.Process, n int, limit time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for len(p.Logged("webhook: delivering")) < n {
		if time.Since(began) > limit {
			t.Fatalf("the server did not log \"webhook: delivering\" %d times within %v; its log:\n%s", n, limit, p.LogText())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(began)
}

// checkResent holds the duplicates of a run where the delivering server
// was killed to what the kill explains: only the events after the cursor
// the next server resumed from (from), up to the last the shop accepted
// before the kill (lastBefore), each sent once more; and few, since
// progress is recorded every 256 events or 100 ms.
func checkResent(t *testing.T, want []uint64, dups int, lowest, highest, from, lastBefore uint64) {
	t.Helper()
	if dups > 0 && (lowest <= from || highest > lastBefore) {
		t.Errorf("events %d to %d were sent twice; only those after the recorded cursor %d, up to %d, may be", lowest, highest, from, lastBefore)
	}
	unrecorded := 0
	for _, seq := range want {
		if seq > from && seq <= lastBefore {
			unrecorded++
		}
	}
	if dups != unrecorded {
		t.Errorf("%d duplicates, want exactly the %d events after the recorded cursor %d up to %d", dups, unrecorded, from, lastBefore)
	}
	if dups >= 1000 {
		t.Errorf("%d duplicates: progress is recorded every 256 events or 100 ms", dups)
	}
}
