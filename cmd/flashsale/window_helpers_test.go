package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// A scheduled sale on the real server (issue 26): the draw at the opening
// is one draw, whichever of two servers' sweepers makes it, and survives a
// kill -9 around it; either way, `flashsale draw` over the sale's exported
// entrants and revealed seed recomputes the order the sale gave.

// stampUS writes t as a client sends it: RFC 3339 in UTC, to the
// microsecond.
func stampUS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

// schedule posts an initialize with a window as the admin and returns the
// status it answers.
func schedule(t *testing.T, url, admin, body string) generated.Status {
	t.Helper()
	a, err := call(adminClient(admin, 30*time.Second), http.MethodPost, url+"/initialize", body)
	if err != nil || a.code != http.StatusOK {
		t.Fatalf("initialize %s: %v %d %v", body, err, a.code, a.body)
	}
	b, _ := json.Marshal(a.body)
	var st generated.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("initialize answered %s: %v", b, err)
	}
	return st
}

// entrantsOf is GET /draw/entrants as the admin.
func entrantsOf(t *testing.T, url, admin string) []string {
	t.Helper()
	resp, err := adminClient(admin, 30*time.Second).Get(url + "/draw/entrants")
	if err != nil {
		t.Fatalf("entrants: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("entrants: %v %d %s %.200s", err, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return lines(string(b))
}

// queueAll reserves for every user before the opening, over workers
// connections at once, spread over urls; every answer must be a place in
// the pre-queue under commitment.
func queueAll(t *testing.T, urls []string, users []string, workers int, commitment string) {
	t.Helper()
	var (
		mu    sync.Mutex
		wrong []string
	)
	pipelined(t, urls, len(users), workers, func(w io.Writer, i int) {
		body := `{"user_id":"` + users[i] + `"}`
		fmt.Fprintf(w, "POST /reserve HTTP/1.1\r\nHost: flashsale\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}, func(i, code int, body []byte) {
		var q generated.Queued
		if code == http.StatusAccepted && json.Unmarshal(body, &q) == nil && q.Status == generated.QueuedStatusQueued &&
			q.UserId == users[i] && q.DrawCommitment == commitment {
			return
		}
		mu.Lock()
		wrong = append(wrong, fmt.Sprintf("%s: %d %s", users[i], code, body))
		mu.Unlock()
	})
	if len(wrong) > 0 {
		t.Fatalf("%d of %d reserves before the opening were not a place in the pre-queue; the first: %s", len(wrong), len(users), wrong[0])
	}
}

// standing is where a user stands, as GET /users/{id} says.
type standing struct {
	state            string
	position         int64
	id               string
	created, expires time.Time
}

func (s standing) String() string {
	switch s.state {
	case "waiting":
		return fmt.Sprintf("waiting at %d", s.position)
	case "held", "confirmed":
		return fmt.Sprintf("%s %s from %s to %s", s.state, s.id, stampUS(s.created), stampUS(s.expires))
	}
	return s.state
}

// standings reads every user's standing on the server at url as the
// admin, over workers connections at once.
func standings(t *testing.T, url, admin string, users []string, workers int) map[string]standing {
	t.Helper()
	out := make([]standing, len(users))
	var (
		mu    sync.Mutex
		wrong []string
	)
	pipelined(t, []string{url}, len(users), workers, func(w io.Writer, i int) {
		fmt.Fprintf(w, "GET /users/%s HTTP/1.1\r\nHost: flashsale\r\nAuthorization: Bearer %s\r\n\r\n", users[i], admin)
	}, func(i, code int, body []byte) {
		s, err := standingOf(code, body)
		if err != nil {
			mu.Lock()
			wrong = append(wrong, fmt.Sprintf("%s: %v", users[i], err))
			mu.Unlock()
		}
		out[i] = s
	})
	if len(wrong) > 0 {
		t.Fatalf("%d users could not be read; the first: %s", len(wrong), wrong[0])
	}
	m := make(map[string]standing, len(users))
	for i, u := range users {
		m[u] = out[i]
	}
	return m
}

// standingOf reads an answer to GET /users/{id}.
func standingOf(code int, body []byte) (standing, error) {
	if code != http.StatusOK {
		return standing{}, fmt.Errorf("%d %s", code, body)
	}
	var u generated.UserState
	if err := json.Unmarshal(body, &u); err != nil {
		return standing{}, fmt.Errorf("%v: %s", err, body)
	}
	v, err := u.ValueByDiscriminator()
	if err != nil {
		return standing{}, fmt.Errorf("%v: %s", err, body)
	}
	switch s := v.(type) {
	case generated.UserHeld:
		return standing{state: "held", id: s.Reservation.ReservationId, created: s.Reservation.CreatedAt, expires: s.Reservation.ExpiresAt}, nil
	case generated.UserConfirmed:
		return standing{state: "confirmed", id: s.Reservation.ReservationId, created: s.Reservation.CreatedAt, expires: s.Reservation.ExpiresAt}, nil
	case generated.UserWaiting:
		return standing{state: "waiting", position: s.WaitlistPosition}, nil
	case generated.UserQueued:
		return standing{state: "queued"}, nil
	case generated.UserNone:
		return standing{state: "none"}, nil
	}
	return standing{}, fmt.Errorf("%T: %s", v, body)
}

// wantDrawn fails unless got is what a draw in order gives: the first
// available hold units, made at the opening and lasting ttl from it, each
// its own reservation; the rest wait at places 1, 2, … in drawn order.
func wantDrawn(t *testing.T, got map[string]standing, order []string, available int, opens time.Time, ttl time.Duration) {
	t.Helper()
	if len(got) != len(order) {
		t.Fatalf("%d users read, %d drawn", len(got), len(order))
	}
	ids := map[string]string{}
	bad := 0
	for i, u := range order {
		s, ok := got[u]
		var want string
		switch {
		case !ok:
			want = "a user read"
		case i < available:
			if s.state != "held" || !s.created.Equal(opens) || !s.expires.Equal(opens.Add(ttl)) || s.id == "" {
				want = fmt.Sprintf("a hold from %s to %s", stampUS(opens), stampUS(opens.Add(ttl)))
			} else if other, dup := ids[s.id]; dup {
				want = "a reservation of their own, not " + other + "'s"
			}
			ids[s.id] = u
		default:
			if s.state != "waiting" || s.position != int64(i-available+1) {
				want = fmt.Sprintf("place %d", i-available+1)
			}
		}
		if want != "" {
			if bad++; bad <= 10 {
				t.Errorf("%s, drawn %d of %d, is %s; want %s", u, i+1, len(order), s, want)
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d users in all are not where the draw put them", bad)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// wantSeed checks a status after the opening against the commitment
// published before it, and returns its seed.
func wantSeed(t *testing.T, st generated.Status, commitment string) string {
	t.Helper()
	if st.Phase != generated.StatusPhaseOpen || st.DrawSeed == nil || st.DrawCommitment == nil || *st.DrawCommitment != commitment {
		t.Fatalf("after the opening: %+v, want phase open, the commitment %s and a seed", st, commitment)
	}
	if got := sha256Hex(*st.DrawSeed); got != commitment {
		t.Fatalf("sha256(draw_seed %s) = %s, but the commitment published before the opening is %s", *st.DrawSeed, got, commitment)
	}
	return *st.DrawSeed
}
