package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver, to make other programs' files

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestDiskFullAnswers503AndRecovers runs the real server on a small tmpfs and
// fills it while shoppers reserve: each change the disk refuses must be a
// 503 problem with Retry-After, never a 201 or 202 for something that was
// not written; reads must still be answered; freeing space must bring the
// sale back by itself; and a restart must find every acknowledged answer.
func TestDiskFullAnswers503AndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	db := filepath.Join(dir, "sale.db")
	// Hundreds of new users from this one address: no limit on them.
	args := []string{"--store", "sqlite", "--db", db, "--admin-token", "t", "--rate-limit", "0", "--new-shopper-rate", "0", "--hold-ttl", "1h"}
	s := testkit.StartRun(t, run, append(args, "--inventory", "40"), nil)
	client := shopperClient(t, 15*time.Second, nil)
	l := newLedger("t")

	// Some holds before the disk fills, then the last few kilobytes go to
	// shoppers arriving together, so that the disk runs out within a group
	// commit, while holds are still granted and once the line has begun.
	for i := range 30 {
		l.reserve(t, client, s.URL, fmt.Sprintf("early-%02d", i))
	}
	if len(l.refused) > 0 {
		t.Fatalf("a reserve failed before the disk was filled: %v", l.refused)
	}
	filler := fillDisk(t, dir, 48<<10)

	const workers, perWorker = 8, 250
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		once sync.Once
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				select {
				case <-stop:
					return
				default:
				}
				if l.reserve(t, client, s.URL, fmt.Sprintf("crowd-%d-%03d", w, i)) == http.StatusServiceUnavailable && l.refusals() >= 50 {
					once.Do(func() { close(stop) })
				}
			}
		})
	}
	wg.Wait()
	t.Logf("while the disk filled: %d holds, %d places in line, %d refused", len(l.held), len(l.waiting), len(l.refused))
	if len(l.refused) == 0 {
		t.Fatalf("%d reserves and the disk never filled up: nothing was tested", workers*perWorker)
	}
	select {
	case <-s.Exited():
		t.Fatalf("the server stopped when the disk filled: %v", s.Err())
	default:
	}
	// The operator learns why from the log.
	if lines := s.Logged("store unavailable"); len(lines) == 0 {
		t.Error("the refusals were not logged")
	} else if e, _ := lines[0]["err"].(string); !strings.Contains(e, "disk") {
		t.Errorf("the log does not say the disk is full: %v", lines[0])
	} else {
		t.Logf("logged: %s", e)
	}

	// Reads are still answered while the disk is full: at worst 503 for a
	// Retry-After while the store rebuilds its state, then from it.
	if code, _ := get(t, s.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz with the disk full: %d", code)
	}
	poll(t, "a read with the disk full", func() (bool, string) {
		a, err := call(client, "GET", s.URL+"/users/early-00", "")
		if err != nil {
			return false, err.Error()
		}
		if a.code == http.StatusServiceUnavailable {
			checkUnavailable(t, a)
		}
		return a.code == http.StatusOK, fmt.Sprintf("%d %v", a.code, a.body)
	})
	// A confirm is a change like any other: 503 unless it was written.
	for i := 1; i <= 5; i++ {
		l.confirm(t, client, s.URL, fmt.Sprintf("early-%02d", i))
	}
	l.verify(t, client, s.URL, "with the disk full")

	// Space comes back: after Retry-After, changes succeed again, without
	// a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n := 0
	poll(t, "a reserve once space is back", func() (bool, string) {
		n++
		code := l.reserve(t, client, s.URL, fmt.Sprintf("later-%03d", n))
		return code == http.StatusCreated || code == http.StatusAccepted, strconv.Itoa(code)
	})
	for i := range 5 {
		if code := l.reserve(t, client, s.URL, fmt.Sprintf("after-%d", i)); code != http.StatusCreated && code != http.StatusAccepted {
			t.Errorf("reserve after recovery: %d", code)
		}
	}
	if code := l.confirm(t, client, s.URL, "early-06"); code != http.StatusOK {
		t.Errorf("confirm after recovery: %d", code)
	}
	l.verify(t, client, s.URL, "after space came back")

	// Everything acknowledged is in the file.
	s.Stop(t)
	s = testkit.StartRun(t, run, args, nil)
	l.verify(t, client, s.URL, "after a restart")
}

// ledger is what the server told the shoppers. Its requests go through a
// client of the shoppers' (shopperClient), each with their own token; a
// shopper who was never given one (every reserve of theirs answered 503)
// is read as the admin, whose token admin is.
type ledger struct {
	admin     string
	mu        sync.Mutex
	held      map[string]string  // user → reservation id of its 201
	confirmed map[string]string  // user → reservation id confirmed with 200
	waiting   map[string]float64 // user → position in its 202
	refused   map[string]bool    // users answered 503 and nothing else
	// users answered 503 with "may have been made" (the database went away
	// mid-commit and the server could not find out): either is right
	unknown map[string]bool
}

func newLedger(admin string) *ledger {
	return &ledger{admin: admin, held: map[string]string{}, confirmed: map[string]string{}, waiting: map[string]float64{}, refused: map[string]bool{}, unknown: map[string]bool{}}
}

func (l *ledger) refusals() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.refused)
}

// reserve asks for a unit for user, records the answer, and returns its
// status (0 if there was none). It may run on any goroutine.
func (l *ledger) reserve(t *testing.T, client *http.Client, url, user string) int {
	a, err := call(client, "POST", url+"/reserve", `{"user_id":"`+user+`"}`)
	if err != nil {
		t.Errorf("reserve %s: %v", user, err)
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch a.code {
	case http.StatusCreated:
		id, _ := a.body["reservation_id"].(string)
		if id == "" || a.body["status"] != "held" {
			t.Errorf("reserve %s: 201 %v", user, a.body)
		}
		l.held[user] = id
		delete(l.refused, user)
	case http.StatusAccepted:
		pos, _ := a.body["waitlist_position"].(float64)
		if pos < 1 {
			t.Errorf("reserve %s: 202 %v", user, a.body)
		}
		l.waiting[user] = pos
		delete(l.refused, user)
	case http.StatusServiceUnavailable:
		checkUnavailable(t, a)
		detail, _ := a.body["detail"].(string)
		_, held := l.held[user]
		_, waiting := l.waiting[user]
		switch {
		case held || waiting:
		case strings.Contains(detail, "may have been made"):
			l.unknown[user] = true
			delete(l.refused, user)
		case !l.unknown[user]:
			l.refused[user] = true
		}
	default:
		t.Errorf("reserve %s: %d %v", user, a.code, a.body)
	}
	return a.code
}

// confirm confirms user's hold, records the answer, and returns its status.
func (l *ledger) confirm(t *testing.T, client *http.Client, url, user string) int {
	l.mu.Lock()
	id, ok := l.held[user]
	l.mu.Unlock()
	if !ok {
		t.Fatalf("confirm %s: no hold was acknowledged", user)
	}
	a, err := call(client, "POST", url+"/reservations/"+id+"/confirm", "")
	if err != nil {
		t.Errorf("confirm %s: %v", user, err)
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch a.code {
	case http.StatusOK:
		if a.body["status"] != "confirmed" {
			t.Errorf("confirm %s: 200 %v", user, a.body)
		}
		delete(l.held, user)
		l.confirmed[user] = id
	case http.StatusServiceUnavailable:
		checkUnavailable(t, a)
	default:
		t.Errorf("confirm %s: %d %v", user, a.code, a.body)
	}
	return a.code
}

// verify checks that the sale holds exactly what was acknowledged: each
// 201's hold (confirmed if a confirm was answered 200), each 202's place
// (nobody left or was promoted, so places have not moved), and nothing for
// a user who was refused.
func (l *ledger) verify(t *testing.T, client *http.Client, url, when string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	admin := adminClient(l.admin, client.Timeout)
	// A read may meet the Retry-After that follows a failed write (the
	// store rebuilds its state from the file before answering again).
	readState := func(client *http.Client, user string) (st map[string]any) {
		poll(t, when+": GET /users/"+user, func() (bool, string) {
			a, err := call(client, "GET", url+"/users/"+user, "")
			switch {
			case err != nil:
				t.Fatalf("%s: GET /users/%s: %v", when, user, err)
			case a.code == http.StatusServiceUnavailable:
				checkUnavailable(t, a)
				return false, "503"
			case a.code != http.StatusOK:
				t.Fatalf("%s: GET /users/%s: %d %v", when, user, a.code, a.body)
			}
			st = a.body
			return true, ""
		})
		return st
	}
	state := func(user string) map[string]any { return readState(client, user) }
	// Nothing was ever answered to these but 503: they have no token.
	tokenless := func(user string) map[string]any { return readState(admin, user) }
	for user, id := range l.held {
		st := state(user)
		res, _ := st["reservation"].(map[string]any)
		if st["state"] != "held" || res["reservation_id"] != id {
			t.Errorf("%s: %s was answered 201 with hold %s, and now is %v", when, user, id, st)
		}
	}
	for user, id := range l.confirmed {
		st := state(user)
		res, _ := st["reservation"].(map[string]any)
		if st["state"] != "confirmed" || res["reservation_id"] != id {
			t.Errorf("%s: %s was answered 200 to confirm %s, and now is %v", when, user, id, st)
		}
	}
	for user, pos := range l.waiting {
		if st := state(user); st["state"] != "waiting" || st["waitlist_position"] != pos {
			t.Errorf("%s: %s was answered 202 at place %v, and now is %v", when, user, pos, st)
		}
	}
	for user := range l.refused {
		if st := tokenless(user); st["state"] != "none" {
			t.Errorf("%s: %s was answered only 503 (nothing was done), and now is %v", when, user, st)
		}
	}
	for user := range l.unknown {
		if st := tokenless(user); st["state"] != "none" && st["state"] != "held" && st["state"] != "waiting" {
			t.Errorf("%s: %s, whose reserve may or may not have been made, is %v", when, user, st)
		}
	}
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
}

// call makes one request; unlike do, it may run on any goroutine, and it
// keeps the headers.
func call(client *http.Client, method, url, body string) (answer, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil && err != io.EOF {
		return a, fmt.Errorf("%s %s: %d with a body that is not JSON: %w", method, url, a.code, err)
	}
	return a, nil
}

// checkUnavailable checks that a 503 is the documented problem: a client
// must learn that nothing was done and when to try again.
func checkUnavailable(t *testing.T, a answer) {
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("503 with Content-Type %q", ct)
	}
	if secs, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("503 with Retry-After %q", a.header.Get("Retry-After"))
	}
	if a.body["type"] != "/problems/unavailable" || a.body["status"] != 503.0 {
		t.Errorf("503 with body %v", a.body)
	}
}

// poll retries try until it reports success, for a little longer than the
// store's Retry-After.
func poll(t *testing.T, what string, try func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(sale.RetryAfter + 10*time.Second)
	var last string
	for attempt := 0; time.Now().Before(deadline) && attempt < 1000; attempt++ {
		var ok bool
		if ok, last = try(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: still failing at the deadline; last answer: %s", what, last)
}
