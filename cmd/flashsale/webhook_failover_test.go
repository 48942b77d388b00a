package main

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/store/postgres"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/internal/webhook"
)

// The failover test's sale: events made on both servers, delivered slowly
// enough that the holder is killed mid-way, then more made on the
// survivor.
const (
	hookFailoverUnits  = 300
	hookFailoverFirst  = 2000 // reserves on both servers before the kill
	hookFailoverSecond = 1000 // reserves on the survivor after it
	hookFailoverDelay  = 2 * time.Millisecond
	hookFailoverKillAt = 400 // events accepted when the holder is killed, at least
	// hookFailoverWithin: the survivor takes the endpoint over within this
	// of the kill. The dead holder's lease lasts DefaultLeaseTTL from its
	// last renewal, and the survivor looks every third of it.
	hookFailoverWithin = 15 * time.Second
)

// TestWebhookFailoverBetweenTwoServers: two servers on one PostgreSQL
// database, both configured with the same endpoint and secret. Exactly one
// delivers (it holds the endpoint's lease, which GET /webhooks shows on
// either); the other waits. The holder is killed with SIGKILL mid-way
// through the sale's events; the survivor takes over within 15 s, resuming
// from the cursor the dead one recorded, and delivers the rest and
// everything made afterwards. The shop ends up with every event, in feed
// order, each signed, the only duplicates being those the dead holder
// delivered without recording.
func TestWebhookFailoverBetweenTwoServers(t *testing.T) {
	dsn := pgtest.Schema(t)
	bin := serverbin.Path(t)
	secret, keys := hookSecretFile(t)
	rcv := newHookReceiver(t, keys, hookFailoverDelay)
	args := postgresArgs(dsn, "--webhook-url", rcv.url, "--webhook-secret-file", secret)
	servers := []*testkit.Process{testkit.StartProcess(t, bin, args...), testkit.StartProcess(t, bin, args...)}

	// Exactly one leads: the first to lease the endpoint.
	deadline := time.Now().Add(hookFailoverWithin)
	leader := -1
	for leader < 0 {
		for i, s := range servers {
			if len(s.Logged("webhook: delivering")) > 0 {
				leader = i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither server delivers after %v:\n%s\n%s", hookFailoverWithin, servers[0].LogText(), servers[1].LogText())
		}
		time.Sleep(10 * time.Millisecond)
	}
	victim, survivor := servers[leader], servers[1-leader]
	holder, _ := victim.Logged("webhook: delivering")[0]["holder"].(string)
	if holder == "" {
		t.Fatalf("the delivering line names no holder: %v", victim.Logged("webhook: delivering")[0])
	}
	for _, s := range servers {
		checkHolder(t, s, rcv.url, holder)
	}

	initializeSale(t, servers[0].URL, pgAdmin, hookFailoverUnits)
	reserveCrowd(t, []string{servers[0].URL, servers[1].URL}, hookUsers("first", hookFailoverFirst))
	rcv.waitAcceptedSeqs(t, hookFailoverKillAt, 30*time.Second)
	victim.Kill(t)
	killed := time.Now()
	// A call the victim made just before it died is recorded by now; the
	// survivor calls only once the victim's lease has run out, seconds
	// from now.
	time.Sleep(100 * time.Millisecond)
	before := rcv.Calls()
	atKill := rcv.acceptedSeqs()
	if n := len(survivor.Logged("webhook: delivering")); n != 0 {
		t.Fatalf("the survivor delivered while the victim held the endpoint, or within 100ms of its kill (%d lines)", n)
	}
	if atKill >= 1+hookFailoverFirst {
		t.Fatalf("every event (%d) was accepted before the kill: the kill did not come mid-delivery", atKill)
	}
	rcv.setDelay(0)

	waitDelivering(t, survivor, 1, hookFailoverWithin-time.Since(killed))
	took := time.Since(killed)
	from := deliveringFrom(t, survivor)
	lastBefore := maxAccepted(before)
	switch {
	case len(from) != 1:
		t.Fatalf("the survivor began delivering %d times: %v", len(from), from)
	case from[0] > lastBefore:
		t.Fatalf("the survivor resumed after event %d, but the shop had accepted only up to %d: events were lost", from[0], lastBefore)
	case from[0] == 0:
		t.Fatalf("the survivor resumed from the start: the victim recorded no progress in %d events", lastBefore)
	}
	rcv.waitAcceptedSeqs(t, 1+hookFailoverFirst, 10*time.Second)
	rest := time.Since(killed)
	survivorHolder, _ := survivor.Logged("webhook: delivering")[0]["holder"].(string)
	if survivorHolder == "" || survivorHolder == holder {
		t.Fatalf("the survivor delivers as %q; the victim was %q", survivorHolder, holder)
	}
	checkHolder(t, survivor, rcv.url, survivorHolder)

	// More of the sale, on the survivor alone.
	reserveCrowd(t, []string{survivor.URL}, hookUsers("second", hookFailoverSecond))
	rcv.waitAcceptedSeqs(t, 1+hookFailoverFirst+hookFailoverSecond, 30*time.Second)
	survivor.Stop(t)

	want := func() []uint64 {
		s, err := postgres.Open(t.Context(), dsn, sale.Config{HoldTTL: crashHoldTTL, Outbox: sale.OutboxConfig{Endpoints: []string{rcv.url}}})
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
		if len(eps) != 1 || eps[0].Cursor < want[len(want)-1] || eps[0].Holder != survivorHolder || eps[0].DeadLetters != 0 {
			t.Errorf("after the survivor's graceful stop the database keeps %+v, want the cursor at %d or later, held by %s, no dead letter", eps, want[len(want)-1], survivorHolder)
		}
		return want
	}()
	if len(want) != 1+hookFailoverFirst+hookFailoverSecond {
		t.Errorf("%d events to send in the database, want %d (an initialize, and one for each reserve)", len(want), 1+hookFailoverFirst+hookFailoverSecond)
	}

	calls := rcv.Calls()
	testkit.CheckDelivery(t, withKills(calls, len(before)), want)
	dups, lowest, highest := duplicates(calls)
	t.Logf("killed the holder with %d events accepted; the survivor delivered %v after the kill, from event %d (the shop had accepted up to %d), and had delivered the rest %v after it; %d calls for %d events, %d of them duplicates (events %d to %d)",
		atKill, took.Round(time.Millisecond), from[0], lastBefore, rest.Round(time.Millisecond), len(calls), len(want), dups, lowest, highest)
	checkResent(t, want, dups, lowest, highest, from[0], lastBefore)
	if n := len(victim.Logged("webhook: delivering")); n != 1 {
		t.Errorf("the victim began delivering %d times, want once", n)
	}
}

// checkHolder asks the server p, as the admin, which server delivers to
// the endpoint url: holder, with a lease that has not run out.
func checkHolder(t *testing.T, p *testkit.Process, url, holder string) {
	t.Helper()
	r, err := typedClient(t, p.URL, adminClient(pgAdmin, 10*time.Second)).GetWebhooksWithResponse(t.Context())
	if err != nil || r.JSON200 == nil {
		t.Fatalf("GET /webhooks: %v %v", err, r)
	}
	eps := r.JSON200.Endpoints
	if len(eps) != 1 || eps[0].Url != url || eps[0].Holder == nil || *eps[0].Holder != holder ||
		eps[0].LeaseUntil == nil || eps[0].LeaseUntil.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("GET /webhooks on %s: %+v, want %s held by %s", p.URL, eps, url, holder)
	}
	if until := time.Until(*eps[0].LeaseUntil); until > webhook.DefaultLeaseTTL+time.Second {
		t.Errorf("GET /webhooks on %s: the lease runs %v more, longer than a lease (%v)", p.URL, until, webhook.DefaultLeaseTTL)
	}
}
