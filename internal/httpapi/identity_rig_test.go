package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The identity tests' rig: a stack seen from outside, requests made by
// hand by anyone, and what each answer says.

// identityT0 is when these tests' sales happen: the middle of a signing
// period.
var identityT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// identityRig is one stack seen from outside: requests made by hand, by
// anyone, spread over the stack's servers in turn.
type identityRig struct {
	t *testing.T
	s *testkit.Stack
	n atomic.Int64
}

func newIdentityRig(t *testing.T, s *testkit.Stack) *identityRig { return &identityRig{t: t, s: s} }

// exchange is one request and the answer to it.
type exchange struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (e exchange) String() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// problem is the answer's problem type, or "" for none.
func (e exchange) problem() generated.ProblemType {
	var p generated.Problem
	if json.Unmarshal(e.body, &p) != nil {
		return ""
	}
	return p.Type
}

// shopperAnswer is what a reserve answers a shopper.
type shopperAnswer struct {
	ReservationID string `json:"reservation_id"`
	Token         string `json:"shopper_token"`
	Position      int    `json:"waitlist_position"`
	State         string `json:"state"`
	Reservation   *struct {
		ID     string `json:"reservation_id"`
		Status string `json:"status"`
	} `json:"reservation"`
}

func (e exchange) answer(t *testing.T) shopperAnswer {
	t.Helper()
	var a shopperAnswer
	if err := json.Unmarshal(e.body, &a); err != nil {
		t.Fatalf("%v: %v", e, err)
	}
	return a
}

func bearer(token string) []string { return []string{"Bearer " + token} }

// send makes one request on the next server in turn.
func (r *identityRig) send(method, path, body string, auth []string, header ...string) exchange {
	r.t.Helper()
	return r.sendTo(r.s.Next(int(r.n.Add(1))), method, path, body, auth, header...)
}

// sendTo makes one request on srv, with auth as its Authorization headers
// (none, one or several) and header as name, value pairs, through the
// server's bare client, which holds the answer to the document. An event
// stream, which should not be opened, is read for a moment and closed.
func (r *identityRig) sendTo(srv *testkit.Server, method, path, body string, auth []string, header ...string) exchange {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		panic(err) // the test's own path is malformed
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// Errors are reported, not fatal: crowds of goroutines send too. The
	// answer of status 0 then fails whatever the caller wanted.
	resp, err := srv.BareHTTP.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return exchange{method: method, path: path, header: http.Header{}, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	var b []byte
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		b = readAWhile(resp.Body, 300*time.Millisecond, cancel)
	} else if b, err = io.ReadAll(resp.Body); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
	}
	return exchange{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b}
}

// readAWhile reads body for d, then stops it with cancel.
func readAWhile(body io.Reader, d time.Duration, cancel func()) []byte {
	var buf lockedBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, body)
	}()
	time.Sleep(d)
	cancel()
	<-done
	return []byte(buf.String())
}

// lockedBuffer is a buffer one goroutine writes while another reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// want fails t unless e is status with a problem of type typ (any type
// when typ is "").
func (r *identityRig) want(e exchange, status int, typ generated.ProblemType) {
	r.t.Helper()
	if e.status != status || (typ != "" && e.problem() != typ) {
		r.t.Fatalf("%v\nwant %d %s", e, status, typ)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(e.header.Get("WWW-Authenticate"), `Bearer realm="flashsale"`) {
		r.t.Fatalf("%v\na 401 with WWW-Authenticate %q", e, e.header.Get("WWW-Authenticate"))
	}
}

func (r *identityRig) admin() []string { return bearer(r.s.AdminToken) }

// initialize starts a sale of total units, as the admin.
func (r *identityRig) initialize(total int, reset bool) {
	r.t.Helper()
	r.want(r.send(http.MethodPost, "/initialize", fmt.Sprintf(`{"total_inventory":%d,"reset":%t}`, total, reset), r.admin()), http.StatusOK, "")
}

// reserve reserves for user with auth, wanting status (201 or 202).
func (r *identityRig) reserve(user string, auth []string, status int) shopperAnswer {
	r.t.Helper()
	e := r.send(http.MethodPost, "/reserve", `{"user_id":"`+user+`"}`, auth)
	r.want(e, status, "")
	return e.answer(r.t)
}

// claim reserves a name new to the sale with no token, and returns the
// answer, which must carry the name's token.
func (r *identityRig) claim(user string, status int) shopperAnswer {
	r.t.Helper()
	a := r.reserve(user, nil, status)
	if a.Token == "" {
		r.t.Fatalf("%s's first reserve carries no shopper_token", user)
	}
	return a
}

// randomReservationID is a reservation id no reservation has.
func randomReservationID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// snapshot is the sale as the admin reads it from every server: the books,
// every user, every hold.
func (r *identityRig) snapshot(sc scene) map[string]string {
	r.t.Helper()
	m := map[string]string{}
	for i, srv := range r.s.Servers {
		paths := []string{"/status", "/reservations/" + sc.aliceRes, "/reservations/" + sc.bobRes}
		for _, u := range []string{"alice", "bob", "carol", "mallory", "zelda"} {
			paths = append(paths, "/users/"+u)
		}
		for _, p := range paths {
			e := r.sendTo(srv, http.MethodGet, p, "", r.admin())
			m[fmt.Sprintf("server %d %s", i, p)] = fmt.Sprintf("%d %s", e.status, e.body)
		}
	}
	return m
}

// stream is an event stream read as it comes.
type stream struct {
	buf    lockedBuffer
	cancel func()
	done   chan struct{}
}

// listen opens user's event stream on srv with auth; it must open.
func (r *identityRig) listen(srv *testkit.Server, user string, auth []string) *stream {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users/"+user+"/events", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := (&http.Client{}).Do(req) // no timeout: a stream lasts
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		r.t.Fatalf("%s's stream: %d %s", user, resp.StatusCode, b)
	}
	st := &stream{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer resp.Body.Close()
		_, _ = io.Copy(&st.buf, resp.Body)
	}()
	r.t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	<-st.done
}

// waitFor waits until the stream has carried s.
func (st *stream) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(st.buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the stream never carried %q; it carried:\n%s", s, st.buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
