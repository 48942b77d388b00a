package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The transcript, races for a new name, a retried first reserve,
// and attempts that must not use up a shopper's own.

// TestMalloryTranscript is the transcript, step by step: each step
// after the first two must fail, and the unit must not go to mallory.
func TestMalloryTranscript(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		alice := r.claim("alice", http.StatusCreated)      // alice gets the unit
		mallory := r.claim("mallory", http.StatusAccepted) // mallory is first in line
		bob := r.claim("bob", http.StatusAccepted)
		if mallory.Position != 1 || bob.Position != 2 {
			t.Fatalf("mallory at %d and bob at %d, want 1 and 2", mallory.Position, bob.Position)
		}
		// Anyone reads alice's reservation_id: no more.
		r.want(r.send(http.MethodGet, "/users/alice", "", nil), http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		asMallory := r.send(http.MethodGet, "/users/alice", "", bearer(mallory.Token))
		r.want(asMallory, http.StatusForbidden, generated.ProblemTypeForbidden)
		if strings.Contains(string(asMallory.body), alice.ReservationID) {
			t.Fatalf("mallory read alice's reservation id: %s", asMallory.body)
		}
		// Anyone cancels alice's hold: no more.
		r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", bearer(mallory.Token)),
			http.StatusNotFound, generated.ProblemTypeReservationNotFound)
		r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", nil),
			http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		// Anyone removes anyone from the line: no more.
		r.want(r.send(http.MethodDelete, "/waitlist/bob", "", bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)
		r.want(r.send(http.MethodDelete, "/waitlist/bob", "", nil), http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		// Nor reserve in alice's name, with a token or without.
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, nil), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)

		// The unit is still alice's, and mallory and bob wait as before.
		a := r.send(http.MethodGet, "/users/alice", "", bearer(alice.Token))
		r.want(a, http.StatusOK, "")
		if got := a.answer(t); got.State != "held" || got.Reservation == nil || got.Reservation.ID != alice.ReservationID {
			t.Errorf("alice after the transcript: %s, want her hold %s", a.body, alice.ReservationID)
		}
		for user, want := range map[string]int{"mallory": 1, "bob": 2} {
			tok := map[string]string{"mallory": mallory.Token, "bob": bob.Token}[user]
			u := r.send(http.MethodGet, "/users/"+user, "", bearer(tok))
			r.want(u, http.StatusOK, "")
			if got := u.answer(t); got.State != "waiting" || got.Position != want {
				t.Errorf("%s after the transcript: %s, want waiting at %d", user, u.body, want)
			}
		}
		st := r.send(http.MethodGet, "/status", "", nil)
		r.want(st, http.StatusOK, "")
		var status generated.Status
		if err := json.Unmarshal(st.body, &status); err != nil {
			t.Fatal(err)
		}
		if want := (generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 1, Held: 1, WaitlistSize: 2}); status != want {
			t.Errorf("status after the transcript %+v, want %+v", status, want)
		}
	})
}

// TestMalloryRacesForANewName: strangers claim one new name at once, on
// every server; one gets it, with its token, and every other is told the
// name is taken.
func TestMalloryRacesForANewName(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		for _, c := range []struct {
			name   string
			status int
		}{{"newcomer", http.StatusCreated}, {"latecomer", http.StatusAccepted}} {
			const crowd = 24
			answers := make([]exchange, crowd)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range crowd {
				wg.Go(func() {
					<-start
					answers[i] = r.send(http.MethodPost, "/reserve", `{"user_id":"`+c.name+`"}`, nil)
				})
			}
			close(start)
			wg.Wait()
			var winners []shopperAnswer
			for _, e := range answers {
				switch {
				case e.status == c.status:
					a := e.answer(t)
					if a.Token == "" {
						t.Errorf("the winner of %s got no token: %s", c.name, e.body)
					}
					winners = append(winners, a)
				case e.status == http.StatusUnauthorized && e.problem() == generated.ProblemTypeTokenRequired:
					if e.header.Get("WWW-Authenticate") == "" {
						t.Errorf("a 401 with no WWW-Authenticate: %v", e)
					}
				default:
					t.Errorf("a claim of %s: %v, want %d or 401 token-required", c.name, e, c.status)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("%d strangers got %s, want exactly one", len(winners), c.name)
			}
			// The winner's token is the name's; the name is no one else's.
			r.want(r.send(http.MethodGet, "/users/"+c.name, "", bearer(winners[0].Token)), http.StatusOK, "")
		}
		st := r.send(http.MethodGet, "/status", "", nil)
		var status generated.Status
		if err := json.Unmarshal(st.body, &status); err != nil {
			t.Fatal(err)
		}
		if status.Held != 1 || status.WaitlistSize != 1 {
			t.Errorf("status %s, want one hold and one in line", st.body)
		}
	})
}

// TestMalloryIdempotentFirstReserve: a retried first reserve gets the same
// token, on any server; another try without the token does not.
func TestMalloryIdempotentFirstReserve(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		const key = "dave-first-reserve-7d1f0c9e"
		first := r.send(http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, "Idempotency-Key", key)
		r.want(first, http.StatusCreated, "")
		if first.answer(t).Token == "" {
			t.Fatalf("dave's first reserve carries no token: %s", first.body)
		}
		// Time passes, within the key's life: the token is the first one's.
		s.Clock.Advance(time.Minute)
		for _, srv := range s.Servers {
			again := r.sendTo(srv, http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, "Idempotency-Key", key)
			r.want(again, http.StatusCreated, "")
			if !bytes.Equal(again.body, first.body) || again.header.Get("Idempotency-Replayed") != "true" {
				t.Errorf("the retry on %s answered\n%s (replayed %q)\nwant the first answer\n%s", srv.URL, again.body, again.header.Get("Idempotency-Replayed"), first.body)
			}
		}
		for _, other := range []string{"dave-second-try-00000001", ""} {
			var h []string
			if other != "" {
				h = []string{"Idempotency-Key", other}
			}
			r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, h...), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
		}
		// The token works, and only for dave.
		tok := first.answer(t).Token
		r.want(r.send(http.MethodGet, "/users/dave", "", bearer(tok)), http.StatusOK, "")
		r.want(r.send(http.MethodGet, "/users/erin", "", bearer(tok)), http.StatusForbidden, generated.ProblemTypeForbidden)
	})
}

// TestMalloryCannotSpendAlicesAttempts: reserves in alice's name that are
// refused as not hers must not use up the attempts alice may make.
func TestMalloryCannotSpendAlicesAttempts(t *testing.T) {
	s := testkit.Start(t, testkit.Options{Clock: clocktest.New(identityT0), API: httpapi.Config{RateLimit: 1, RateBurst: 3}})
	r := newIdentityRig(t, s)
	r.initialize(5, false)
	alice := r.claim("alice", http.StatusCreated)
	mallory := r.claim("mallory", http.StatusCreated)
	for range 10 {
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)
		// Nor can a stranger, who proves nobody.
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, nil), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
	}
	// Alice gives her unit back and takes one again, with her whole burst
	// of three (her first reserve, a claim, counted against her address,
	// not her): then she is limited.
	r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", bearer(alice.Token)), http.StatusOK, "")
	r.reserve("alice", bearer(alice.Token), http.StatusCreated)
	for range 2 {
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(alice.Token)), http.StatusConflict, generated.ProblemTypeAlreadyReserved)
	}
	r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(alice.Token)), http.StatusTooManyRequests, generated.ProblemTypeRateLimited)
}
