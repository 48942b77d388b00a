package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// Several servers on one PostgreSQL database (--store postgres): real
// processes, each with the sale in its own memory, sharing one schema.

// postgresArgs is the command line of a server on dsn, with the rate
// limits off, per user and on new users per address (the tests are many
// users from one address), and holds that outlast the test.
func postgresArgs(dsn string, more ...string) []string {
	return append([]string{"--store", "postgres", "--dsn", dsn,
		"--admin-token", pgAdmin, "--rate-limit", "0", "--new-shopper-rate", "0", "--hold-ttl", crashHoldTTL.String()}, more...)
}

// pgAdmin is the admin token of postgresArgs.
const pgAdmin = "pg"

// TestTwoServersOneDatabase: 400 shoppers at once, each reserving once on
// one of two servers picked at random, for 50 units: exactly 50 holds in
// all, and the other 350 in one line numbered 1..350 with no place given
// twice; then both servers tell the same books and the same of every user.
func TestTwoServersOneDatabase(t *testing.T) {
	const inventory, users = 50, 400
	dsn := pgtest.Schema(t)
	bin := serverbin.Path(t)
	servers := []*testkit.Process{
		testkit.StartProcess(t, bin, postgresArgs(dsn, "--inventory", fmt.Sprint(inventory))...),
		testkit.StartProcess(t, bin, postgresArgs(dsn)...),
	}
	// Each shopper's token, from the server they reserved on, is what
	// reads them on the other.
	client := shopperClient(t, 30*time.Second, &http.Transport{MaxIdleConnsPerHost: users})
	t.Cleanup(client.CloseIdleConnections)

	type outcome struct {
		server int
		a      answer
		err    error
	}
	out := make([]outcome, users)
	var (
		wg    sync.WaitGroup
		ready sync.WaitGroup
		gate  = make(chan struct{})
	)
	ready.Add(users)
	began := time.Now()
	for i := range users {
		srv := rand.IntN(len(servers))
		wg.Go(func() {
			ready.Done()
			<-gate // all at once
			a, err := call(client, "POST", servers[srv].URL+"/reserve", fmt.Sprintf(`{"user_id":"shopper-%03d"}`, i))
			out[i] = outcome{srv, a, err}
		})
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	t.Logf("%d reserves on two servers answered in %v", users, time.Since(began).Round(time.Millisecond))

	var (
		holds     = map[int]string{} // user → reservation id
		positions = map[int64]int{}  // place → user
		perServer [2]int
	)
	for i, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("shopper-%03d on server %d: %v", i, o.server, o.err)
		case o.a.code == http.StatusCreated:
			id, _ := o.a.body["reservation_id"].(string)
			if id == "" || o.a.body["status"] != "held" {
				t.Errorf("shopper-%03d: 201 %v", i, o.a.body)
			}
			holds[i] = id
			perServer[o.server]++
		case o.a.code == http.StatusAccepted:
			pos, _ := o.a.body["waitlist_position"].(float64)
			if other, dup := positions[int64(pos)]; dup {
				t.Errorf("place %v was given to shopper-%03d and shopper-%03d", pos, other, i)
			}
			positions[int64(pos)] = i
			perServer[o.server]++
		default:
			t.Errorf("shopper-%03d on server %d: %d %v", i, o.server, o.a.code, o.a.body)
		}
	}
	t.Logf("answered 201/202 by server: %v", perServer)
	if len(holds) != inventory {
		t.Errorf("%d holds (201) for %d units", len(holds), inventory)
	}
	if len(positions) != users-inventory {
		t.Errorf("%d places in line (202), want %d", len(positions), users-inventory)
	}
	for p := int64(1); p <= users-inventory; p++ {
		if _, ok := positions[p]; !ok {
			t.Errorf("no shopper was given place %d", p)
		}
	}
	if perServer[0] == 0 || perServer[1] == 0 {
		t.Errorf("one server answered nothing: %v", perServer)
	}

	// Both servers tell the same books, and they balance.
	c0, c1 := newClient(t, servers[0].URL), newClient(t, servers[1].URL)
	s0, s1 := mustStatus(t, c0), mustStatus(t, c1)
	if s0 != s1 {
		t.Errorf("the servers disagree: %+v and %+v", s0, s1)
	}
	want := generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: inventory, Available: 0, Held: inventory, Confirmed: 0, WaitlistSize: users - inventory}
	if s0 != want {
		t.Errorf("status %+v, want %+v", s0, want)
	}
	if err := balanceError(s0); err != nil {
		t.Error(err)
	}

	// Each shopper, asked on the server they did not reserve on, is what
	// their answer said.
	clients := []*generated.ClientWithResponses{c0, c1}
	for i, o := range out {
		if o.err != nil {
			continue
		}
		u := fmt.Sprintf("shopper-%03d", i)
		got := mustUser(t, clients[1-o.server], u)
		switch o.a.code {
		case http.StatusCreated:
			if held, ok := got.(generated.UserHeld); !ok || held.Reservation.ReservationId != holds[i] {
				t.Errorf("%s got 201 with %s on server %d; server %d says %s", u, holds[i], o.server, 1-o.server, describeUser(got))
			} else if r := mustReservation(t, clients[1-o.server], holds[i]); r.UserId != u || r.Status != generated.ReservationStatusHeld {
				t.Errorf("%s's reservation %s reads %+v on server %d", u, holds[i], r, 1-o.server)
			}
		case http.StatusAccepted:
			pos := int64(o.a.body["waitlist_position"].(float64))
			if w, ok := got.(generated.UserWaiting); !ok || w.WaitlistPosition != pos {
				t.Errorf("%s got 202 at place %d on server %d; server %d says %+v", u, pos, o.server, 1-o.server, got)
			}
		}
	}
}

// TestKillOneOfTwoServers: the crash test's load (reserves, confirms,
// cancels, leaves, reads; 16 workers) on each of two servers sharing one
// database, each with shoppers of its own; one server is killed with
// SIGKILL mid-load. The other keeps answering, 201 and 202 included, and
// afterwards every answer the killed one gave is still true when asked on
// the survivor: each reservation it showed, each user's state, the line's
// order, and the books.
func TestKillOneOfTwoServers(t *testing.T) {
	dsn := pgtest.Schema(t)
	bin := serverbin.Path(t)
	victim := testkit.StartProcess(t, bin, postgresArgs(dsn, "--inventory", fmt.Sprint(crashInventory))...)
	survivor := testkit.StartProcess(t, bin, postgresArgs(dsn)...)

	seed := 1 + rand.Uint64N(1e9)
	t.Logf("seed %d", seed)
	killAt := crashMinAnswers + rand.New(rand.NewPCG(seed, 0)).IntN(crashMaxAnswers-crashMinAnswers+1)
	loaders := []*loader{
		{c: newClient(t, victim.URL), jar: jarOf(t), killAt: int64(killAt), kill: make(chan struct{})},
		{c: newClient(t, survivor.URL), jar: jarOf(t), killAt: -1, kill: make(chan struct{}), stop: make(chan struct{})},
	}
	parts := [2][]history{make([]history, crashWorkers), make([]history, crashWorkers)}
	var done [2]sync.WaitGroup
	for s, l := range loaders {
		for w := range crashWorkers {
			users := make([]string, crashUsersEach)
			for i := range users {
				users[i] = fmt.Sprintf("s%d-w%02d-u%d", s, w, i)
			}
			rng := rand.New(rand.NewPCG(seed, uint64(s*crashWorkers+w)+1))
			done[s].Go(func() { parts[s][w] = l.work(rng, users) })
		}
	}
	finished := func(wg *sync.WaitGroup) chan struct{} {
		ch := make(chan struct{})
		go func() { wg.Wait(); close(ch) }()
		return ch
	}
	victimDone := finished(&done[0])

	select {
	case <-loaders[0].kill:
	case <-time.After(crashMaxLoad):
	case <-victimDone:
		t.Log("the load on the victim ended before the kill point")
	}
	victim.Kill(t)
	killed := time.Now()
	t.Logf("killed one server after %d of its answers (kill point %d)", loaders[0].answers.Load(), killAt)
	select {
	case <-victimDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the load on the killed server did not stop within 30s of the kill")
	}
	// The survivor goes on under load for a while after the kill.
	time.Sleep(2 * time.Second)
	close(loaders[1].stop)
	select {
	case <-finished(&done[1]):
	case <-time.After(30 * time.Second):
		t.Fatal("the load on the survivor did not stop within 30s")
	}

	h := history{}
	for s := range parts {
		for _, part := range parts[s] {
			for u, steps := range part {
				h[u] = steps
				for _, st := range steps {
					if st.wrong != "" {
						t.Errorf("server %d: %s", s, st.wrong)
					}
					if s == 1 && !st.acked && st.wrong == "" {
						t.Errorf("the survivor gave no answer to %s %s: %s", u, st.op, st.failure)
					}
				}
			}
		}
	}
	// The survivor answered shoppers after the kill, holds and places in
	// line among them.
	after := map[int]int{}
	for u, steps := range h {
		if u[:2] != "s1" {
			continue
		}
		for _, st := range steps {
			if st.acked && st.op == opReserve && st.sent.After(killed) {
				after[st.code]++
			}
		}
	}
	t.Logf("the survivor's answers to reserves sent after the kill: %v", after)
	if after[http.StatusCreated]+after[http.StatusAccepted] == 0 {
		t.Error("the survivor answered no reserve 201 or 202 after the kill")
	}

	c := newClient(t, survivor.URL)
	checkAfter(t, c, pgAdmin, h, "on the survivor")

	// A new server on the database finds the same sale.
	third := testkit.StartProcess(t, bin, postgresArgs(dsn)...)
	if s := mustStatus(t, newClient(t, third.URL)); s != mustStatus(t, c) {
		t.Errorf("a new server reads %+v; the survivor %+v", s, mustStatus(t, c))
	}
}
