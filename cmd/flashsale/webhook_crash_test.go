package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/store/sqlite"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// The webhook crash test's sale: a few thousand events, each call taking a
// couple of milliseconds at the shop, so that delivery takes seconds and
// the kill comes in the middle of it.
const (
	hookCrashUnits  = 500
	hookCrashUsers  = 3000
	hookCrashDelay  = 2 * time.Millisecond
	hookCrashKillAt = 500 // events accepted when the server is killed, at least
	hookCrashAdmin  = "hooks"
)

// TestWebhookDeliverySurvivesKill9: a server on SQLite delivers a sale's
// 3,000-odd events to a shop that takes 2 ms over each; it is killed with
// SIGKILL mid-way, and started again on the same file. The shop ends up
// with every event, in feed order, each signed: nothing is lost. Some are
// sent twice, those after the progress the killed server had recorded
// (every 256 events or 100 ms), and only those: after the restart,
// delivery resumes from a cursor no further than what the shop accepted,
// and not far behind it.
func TestWebhookDeliverySurvivesKill9(t *testing.T) {
	bin := serverbin.Path(t)
	secret, keys := hookSecretFile(t)
	rcv := newHookReceiver(t, keys, hookCrashDelay)
	db := filepath.Join(t.TempDir(), "sale.db")
	args := []string{"--store", "sqlite", "--db", db, "--admin-token", hookCrashAdmin,
		"--hold-ttl", crashHoldTTL.String(), "--rate-limit", "0", "--new-shopper-rate", "0",
		"--webhook-url", rcv.url, "--webhook-secret-file", secret}
	srv := testkit.StartProcess(t, bin, args...)
	began := time.Now()

	initializeSale(t, srv.URL, hookCrashAdmin, hookCrashUnits)
	reserveCrowd(t, []string{srv.URL}, hookUsers("shopper", hookCrashUsers))
	made := time.Since(began)
	rcv.waitAcceptedSeqs(t, hookCrashKillAt, 30*time.Second)
	srv.Kill(t)
	// A call the server made just before it died is recorded (the receiver
	// records first, then waits out its delay) by now; nothing calls the
	// receiver until the restart.
	time.Sleep(100 * time.Millisecond)
	before := rcv.Calls()
	atKill := rcv.acceptedSeqs()
	t.Logf("%d events made in %v; killed after %v, with %d of them accepted (%d calls)",
		1+hookCrashUsers, made.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), atKill, len(before))
	if atKill >= 1+hookCrashUsers {
		t.Fatalf("every event (%d) was accepted before the kill: the kill did not come mid-delivery", atKill)
	}
	if from := deliveringFrom(t, srv); len(from) != 1 || from[0] != 0 {
		t.Fatalf("the first server began delivering from %v, want once from 0 (a new endpoint of a new sale)", from)
	}

	// The kill came mid-way: the rest at full speed.
	rcv.setDelay(0)
	srv = testkit.StartProcess(t, bin, args...) // the same command line, as an operator would
	restarted := time.Now()
	// The restarted server is another holder: it takes the endpoint once
	// the killed one's lease has run out (DefaultLeaseTTL), polling every
	// third of it.
	leased := waitDelivering(t, srv, 1, webhook.DefaultLeaseTTL+webhook.DefaultLeaseTTL/3+2*time.Second)
	from := deliveringFrom(t, srv)
	lastBefore := maxAccepted(before)
	switch {
	case len(from) != 1:
		t.Fatalf("the restarted server began delivering %d times: %v", len(from), from)
	case from[0] > lastBefore:
		t.Fatalf("the restarted server resumed after event %d, but the shop had accepted only up to %d: events were lost", from[0], lastBefore)
	case from[0] == 0:
		t.Fatalf("the restarted server resumed from the start: the killed server recorded no progress in %d events", lastBefore)
	}

	// Every event sent is in the file: read it once the server is done.
	rcv.WaitAccepted(t, uint64(lastSeqOf(t, srv)), 30*time.Second)
	delivered := time.Since(restarted)
	srv.Stop(t)
	want := func() []uint64 {
		s, err := sqlite.Open(t.Context(), db, sale.Config{HoldTTL: crashHoldTTL, Outbox: sale.OutboxConfig{Endpoints: []string{rcv.url}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		want := hookEvents(t, s)
		eps, err := s.Endpoints(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// A graceful stop records where delivery is.
		if len(eps) != 1 || eps[0].Cursor < want[len(want)-1] || eps[0].DeadLetters != 0 {
			t.Errorf("after a graceful stop the file keeps %+v, want the cursor at %d or later and no dead letter", eps, want[len(want)-1])
		}
		return want
	}()
	if len(want) != 1+hookCrashUsers {
		t.Errorf("%d events to send in the file, want %d (an initialize, and one for each reserve)", len(want), 1+hookCrashUsers)
	}

	calls := rcv.Calls()
	testkit.CheckDelivery(t, withKills(calls, len(before)), want)
	dups, lowest, highest := duplicates(calls)
	t.Logf("restarted; delivering again %v later, from event %d (the shop had accepted up to %d); all %d delivered %v after the restart; %d calls, %d of them duplicates (events %d to %d)",
		leased.Round(time.Millisecond), from[0], lastBefore, len(want), delivered.Round(time.Millisecond), len(calls), dups, lowest, highest)
	for _, c := range calls[:len(before)] {
		if c.Fault != testkit.Accept {
			t.Fatalf("a call before the kill failed (%s): the receiver never fails", c.ID)
		}
	}
	// Only what the killed server had not recorded is sent twice, each once
	// more: the events after the cursor it resumed from, up to the last the
	// shop accepted.
	checkResent(t, want, dups, lowest, highest, from[0], lastBefore)
}

// lastSeqOf is the newest event of the sale on the server p, as GET
// /webhooks tells it to the admin.
func lastSeqOf(t *testing.T, p *testkit.Process) int64 {
	t.Helper()
	r, err := typedClient(t, p.URL, adminClient(hookCrashAdmin, 10*time.Second)).GetWebhooksWithResponse(t.Context())
	if err != nil || r.JSON200 == nil {
		t.Fatalf("GET /webhooks: %v %v", err, r)
	}
	return r.JSON200.NewestEvent
}
