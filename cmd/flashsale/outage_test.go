package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The database goes away under a running server, and comes back: on a
// private PostgreSQL cluster (internal/pgtest), stopped with pg_ctl -m
// immediate as a crash would, never the machine's server.

// recoverWithin bounds how long after the database is back the sale must
// take changes again, without a restart of the server.
const recoverWithin = 30 * time.Second

// TestPostgresOutage: a server selling on a private cluster; the cluster
// stops. Every change is then refused with the 503 problem and
// Retry-After, /healthz says 503, and nothing is answered 201 or 202. The
// cluster starts again: within recoverWithin the server sells again by
// itself, and the books hold exactly what was acknowledged, before and
// after a restart of the server.
func TestPostgresOutage(t *testing.T) {
	cl := pgtest.NewCluster(t)
	bin := serverbin.Path(t)
	args := postgresArgs(cl.DSN())
	srv := testkit.StartProcess(t, bin, append(args, "--inventory", "5")...)
	client := shopperClient(t, 15*time.Second, nil)
	l := newLedger(pgAdmin)

	for i := range 8 {
		l.reserve(t, client, srv.URL, fmt.Sprintf("before-%d", i))
	}
	if len(l.held) != 5 || len(l.waiting) != 3 {
		t.Fatalf("before the outage: %d holds and %d in line, want 5 and 3", len(l.held), len(l.waiting))
	}
	if code := l.confirm(t, client, srv.URL, "before-0"); code != http.StatusOK {
		t.Fatalf("confirm before the outage: %d", code)
	}
	l.verify(t, client, srv.URL, "before the outage")
	if a, err := call(client, "GET", srv.URL+"/healthz", ""); err != nil || a.code != http.StatusOK {
		t.Fatalf("healthz before the outage: %v %d %v", err, a.code, a.body)
	}

	cl.Stop(t)
	stopped := time.Now()
	// Shoppers new and old keep coming for a few seconds.
	var codes = map[string]int{}
	for i := 0; time.Since(stopped) < 3*time.Second; i++ {
		for _, u := range []string{fmt.Sprintf("during-%d", i%5), "before-6"} { // before-6 waits in line
			a, err := call(client, "POST", srv.URL+"/reserve", `{"user_id":"`+u+`"}`)
			if err != nil {
				t.Fatalf("reserve %s during the outage: %v", u, err)
			}
			codes[fmt.Sprint("reserve ", a.code)]++
			if a.code != http.StatusServiceUnavailable {
				t.Errorf("reserve %s during the outage: %d %v, want 503", u, a.code, a.body)
				continue
			}
			checkUnavailable(t, a)
			if strings.HasPrefix(u, "during-") {
				l.mu.Lock()
				l.refused[u] = true
				l.mu.Unlock()
			}
		}
		a, err := call(client, "GET", srv.URL+"/healthz", "")
		if err != nil {
			t.Fatalf("healthz during the outage: %v", err)
		}
		codes[fmt.Sprint("healthz ", a.code)]++
		if a.code != http.StatusServiceUnavailable {
			t.Errorf("healthz during the outage: %d %v, want 503", a.code, a.body)
		} else {
			checkUnavailable(t, a)
			if i == 0 {
				t.Logf("healthz during the outage: Retry-After %s, %v", a.header.Get("Retry-After"), a.body["detail"])
			}
		}
		// A confirm of an acknowledged hold is a change like any other.
		if i == 0 {
			if code := l.confirm(t, client, srv.URL, "before-1"); code != http.StatusServiceUnavailable {
				t.Errorf("confirm during the outage: %d, want 503", code)
			}
			st, err := call(client, "GET", srv.URL+"/status", "")
			if err != nil {
				t.Fatalf("status during the outage: %v", err)
			}
			t.Logf("GET /status during the outage: %d %v", st.code, st.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("during the outage: %v", codes)

	cl.Start(t)
	back := time.Now()
	n := 0
	for {
		a, err := call(client, "POST", srv.URL+"/reserve", `{"user_id":"during-0"}`) // refused all along
		if err != nil {
			t.Fatalf("reserve after the outage: %v", err)
		}
		if a.code == http.StatusAccepted {
			l.mu.Lock()
			delete(l.refused, "during-0")
			l.waiting["during-0"] = a.body["waitlist_position"].(float64)
			l.mu.Unlock()
			break
		}
		if a.code != http.StatusServiceUnavailable {
			t.Fatalf("reserve after the outage: %d %v, want 202 (or 503 until the store is back)", a.code, a.body)
		}
		checkUnavailable(t, a)
		if n++; time.Since(back) > recoverWithin {
			t.Fatalf("still 503 %v after the cluster came back: %v", recoverWithin, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("sales resumed %v after the cluster was started again (%d refusals meanwhile)", time.Since(back).Round(time.Millisecond), n)
	if got := l.waiting["during-0"]; got != 4 {
		t.Errorf("during-0, refused all through the outage, is at place %v, want 4 (behind the three before it)", got)
	}
	// Once more for the same shopper: the same place, not a second one.
	a, err := call(client, "POST", srv.URL+"/reserve", `{"user_id":"during-0"}`)
	if err != nil || a.code != http.StatusAccepted || a.body["waitlist_position"] != 4.0 {
		t.Errorf("during-0 again: %v %d %v, want 202 at place 4", err, a.code, a.body)
	}
	if code := l.confirm(t, client, srv.URL, "before-1"); code != http.StatusOK {
		t.Errorf("confirm after the outage: %d", code)
	}
	if code := l.reserve(t, client, srv.URL, "after-0"); code != http.StatusAccepted {
		t.Errorf("reserve after the outage: %d", code)
	}
	if a, err := call(client, "GET", srv.URL+"/healthz", ""); err != nil || a.code != http.StatusOK {
		t.Errorf("healthz after the outage: %v %d %v", err, a.code, a.body)
	}

	wantBooks := func(when string) {
		t.Helper()
		a, err := call(client, "GET", srv.URL+"/status", "")
		if err != nil || a.code != http.StatusOK {
			t.Fatalf("%s: status: %v %d %v", when, err, a.code, a.body)
		}
		want := map[string]any{"initialized": true, "total_inventory": 5.0, "available": 0.0,
			"held": 3.0, "confirmed": 2.0, "waitlist_size": 5.0} // before-5..7, during-0, after-0
		for k, v := range want {
			if a.body[k] != v {
				t.Errorf("%s: status %v, want %v", when, a.body, want)
				break
			}
		}
	}
	l.verify(t, client, srv.URL, "after the outage")
	wantBooks("after the outage")

	srv.Stop(t)
	srv = testkit.StartProcess(t, bin, args...)
	l.verify(t, client, srv.URL, "after a restart of the server")
	wantBooks("after a restart of the server")
}

// TestPostgresStartsWhileDatabaseIsDown: a server started while its
// database is down waits for it, one WARN line per attempt saying why and
// never the password, and serves once the database is up; a database that
// does not exist is not waited for.
func TestPostgresStartsWhileDatabaseIsDown(t *testing.T) {
	cl := pgtest.NewCluster(t)
	bin := serverbin.Path(t)
	// The cluster trusts every local connection: the password is there to
	// be hidden, not checked.
	dsn := fmt.Sprintf("postgres://postgres:s3cret-pw@127.0.0.1:%d/postgres?sslmode=disable", cl.Port())

	cl.Stop(t)
	srv := testkit.SpawnProcess(t, bin, postgresArgs(dsn, "--inventory", "1")...)
	deadline := time.Now().Add(15 * time.Second)
	for len(srv.Logged("waiting for PostgreSQL")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second waiting line within 15s; the log:\n%s", srv.LogText())
		}
		select {
		case <-srv.Exited():
			t.Fatalf("the server exited while the database was down: %v\n%s\n%s", srv.Err(), srv.LogText(), srv.Stderr())
		case <-time.After(50 * time.Millisecond):
		}
	}
	w := srv.Logged("waiting for PostgreSQL")[0]
	if w["level"] != "WARN" || !strings.Contains(fmt.Sprint(w["reason"]), "connection refused") {
		t.Errorf("waiting line: %v", w)
	}
	t.Logf("logged: %v", w)

	cl.Start(t)
	srv.WaitListening(t)
	if opened := srv.Logged("sale database opened"); len(opened) != 1 {
		t.Errorf("%d sale database opened lines:\n%s", len(opened), srv.LogText())
	}
	a, err := call(&http.Client{Timeout: 15 * time.Second}, "POST", srv.URL+"/reserve", `{"user_id":"first"}`)
	if err != nil || a.code != http.StatusCreated {
		t.Fatalf("reserve once the database is up: %v %d %v", err, a.code, a.body)
	}
	srv.Stop(t)
	if log := srv.LogText() + srv.Stderr(); strings.Contains(log, "s3cret") {
		t.Errorf("the log shows the password:\n%s", log)
	}

	// Errors that waiting will not cure: one line, at once.
	for _, bad := range []string{
		strings.Replace(dsn, "/postgres?", "/nosuchdb?", 1),
		strings.Replace(dsn, "/postgres?sslmode=disable", "/nosuchdb", 1), // pgx tries TLS, then without
		dsn + "&search_path=nosuchschema",
	} {
		c := testkit.SpawnProcess(t, bin, postgresArgs(bad)...)
		select {
		case <-c.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still running after 10s:\n%s", pgdsn.Redact(bad), c.LogText())
		}
		err := c.Wait(t, testkit.StopTimeout) // at once: it has ended; Wait has its whole log read
		msg := strings.TrimSpace(c.Stderr())
		switch {
		case err == nil:
			t.Errorf("%s: exit status 0", pgdsn.Redact(bad))
		case strings.Count(msg, "\n") > 0 || !strings.HasPrefix(msg, "flashsale: "):
			t.Errorf("%s: not one line: %q", pgdsn.Redact(bad), msg)
		case strings.Contains(msg+c.LogText(), "s3cret"):
			t.Errorf("the password is shown: %s", msg)
		case len(c.Logged("waiting for PostgreSQL")) > 0:
			t.Errorf("%s: waited: %s", pgdsn.Redact(bad), c.LogText())
		default:
			t.Logf("%s", msg)
		}
	}
}
